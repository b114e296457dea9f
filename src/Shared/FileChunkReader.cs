using Grpc.Core;
using Lcluster.V1;

namespace Lcluster.Shared;

/// <summary>A read-only stream over a stream of FileChunks (a tar archive arriving), one chunk in memory at a time.</summary>
internal sealed class FileChunkReader(IAsyncStreamReader<FileChunk> chunks, Action<int>? received = null) : Stream
{
    private ReadOnlyMemory<byte> _current;
    private bool _ended;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct = default)
    {
        while (_current.IsEmpty)
        {
            if (_ended || !await chunks.MoveNext(ct))
            {
                _ended = true;
                return 0;
            }
            _current = chunks.Current.Data.Memory;
            received?.Invoke(_current.Length);
        }
        var n = Math.Min(destination.Length, _current.Length);
        _current[..n].CopyTo(destination);
        _current = _current[n..];
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("a FileChunkReader reads from the network: read asynchronously");

    public override void Flush()
    {
        // Nothing is written.
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
