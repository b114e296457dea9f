using System.Globalization;
using System.Text;
using Grpc.Core;
using Lcluster.V1;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>GetOutput's chunks as the response body itself: the job's bytes, each chunk flushed as it comes.</summary>
internal sealed class OutputBodyWriter(HttpResponse response, CancellationToken ct) : IServerStreamWriter<OutputChunk>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(OutputChunk message) => WriteAsync(message, ct);

    public async Task WriteAsync(OutputChunk message, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(message.Data.Memory, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
