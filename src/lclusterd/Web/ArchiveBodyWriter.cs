using System.Globalization;
using System.Text;
using Grpc.Core;
using Lcluster.V1;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>A file stream's chunks (one tar archive) as the response body.</summary>
internal sealed class ArchiveBodyWriter(HttpResponse response, CancellationToken ct) : IServerStreamWriter<FileChunk>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(FileChunk message) => WriteAsync(message, ct);

    public async Task WriteAsync(FileChunk message, CancellationToken cancellationToken)
    {
        if (!response.HasStarted)
            response.ContentType = "application/x-tar";
        await response.Body.WriteAsync(message.Data.Memory, cancellationToken);
    }
}
