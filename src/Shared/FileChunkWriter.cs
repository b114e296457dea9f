using Google.Protobuf;
using Lcluster.V1;

namespace Lcluster.Shared;

/// <summary>
/// A write-only stream that sends what is written as FileChunks of <see cref="FilePaths.ChunkBytes"/>:
/// a tar archive goes out as it is made, never whole in memory. Asynchronous writes only.
/// </summary>
internal sealed class FileChunkWriter(Func<FileChunk, CancellationToken, Task> send) : Stream
{
    private readonly byte[] _buffer = new byte[FilePaths.ChunkBytes];
    private int _filled;

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, _buffer.Length - _filled);
            data[..n].CopyTo(_buffer.AsMemory(_filled));
            _filled += n;
            BytesWritten += n;
            data = data[n..];
            if (_filled == _buffer.Length)
                await SendAsync(ct);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    /// <summary>Sends what is buffered.</summary>
    public override async Task FlushAsync(CancellationToken ct)
    {
        if (_filled > 0)
            await SendAsync(ct);
    }

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("a FileChunkWriter sends over the network: write asynchronously");

    public override void Flush()
    {
        // Sending happens in FlushAsync; a synchronous flush has nothing it may do.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task SendAsync(CancellationToken ct)
    {
        await send(new FileChunk { Data = ByteString.CopyFrom(_buffer, 0, _filled) }, ct);
        _filled = 0;
    }
}
