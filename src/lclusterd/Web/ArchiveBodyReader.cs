using Grpc.Core;
using Lcluster.V1;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>The request body (one tar archive) as the chunks an upload reads, never more than one chunk in memory.</summary>
internal sealed class ArchiveBodyReader(HttpRequest request, CancellationToken ct) : IAsyncStreamReader<FileChunk>
{
    private const int ChunkBytes = 64 * 1024;
    private readonly byte[] _buffer = new byte[ChunkBytes];

    public FileChunk Current { get; private set; } = new();

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, cancellationToken);
        var read = await request.Body.ReadAsync(_buffer, both.Token);
        if (read == 0)
            return false;
        Current = new FileChunk { Data = Google.Protobuf.ByteString.CopyFrom(_buffer, 0, read) };
        return true;
    }
}
