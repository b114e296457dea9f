using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// A server stream's messages as the HTTP response body itself, each message's bytes written as it comes: GetOutput's
/// chunks (flushed one by one, so a follower sees each line when the job writes it), a file rpc's tar archive.
/// </summary>
internal sealed class BodyWriter<T>(HttpResponse response, Func<T, ByteString> data, string? contentType, bool flushEach, CancellationToken ct)
    : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => WriteAsync(message, ct);

    public async Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        if (contentType is not null && !response.HasStarted)
            response.ContentType = contentType;
        await response.Body.WriteAsync(data(message).Memory, cancellationToken);
        if (flushEach)
            await response.Body.FlushAsync(cancellationToken);
    }
}
