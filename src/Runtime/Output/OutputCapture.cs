using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Output;

/// <summary>
/// Copies one of the job's output pipes into a file, up to a cap: past it one
/// marker line is written and the rest is read and discarded, so the job never
/// blocks on a full pipe. The read is asynchronous (no thread per job); only a
/// pooled buffer is held while it waits.
/// </summary>
internal sealed class OutputCapture
{
    private const int BufferSize = 16 << 10;
    private readonly string _name;
    private readonly long _cap;
    private long _bytes;
    private volatile bool _truncated;
    private volatile string? _failure;

    public OutputCapture(Stream source, string path, long cap, string name)
    {
        _name = name;
        _cap = cap;
        var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Completion = Task.Run(() => PumpAsync(source, file));
    }

    /// <summary>Bytes the job wrote so far, kept or not.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public bool Truncated => _truncated;

    /// <summary>Why output could not be kept (a failing disk); the stream is drained anyway.</summary>
    public string? Failure => _failure;

    /// <summary>Completes at EOF: every writer in the container is gone.</summary>
    public Task Completion { get; }

    private async Task PumpAsync(Stream source, SafeFileHandle file)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long offset = 0;
        try
        {
            int n;
            while ((n = await source.ReadAsync(buffer.AsMemory(0, BufferSize)).ConfigureAwait(false)) > 0)
            {
                var before = Bytes;
                Interlocked.Add(ref _bytes, n);
                if (_truncated || _failure is not null)
                    continue;
                // A read may end exactly at the cap: the marker goes in with the first byte past it.
                var keep = (int)Math.Min(n, Math.Max(0, _cap - before));
                if (keep > 0)
                    offset += Keep(file, buffer.AsSpan(0, keep), offset);
                if (keep < n)
                {
                    _truncated = true;
                    Keep(file, Encoding.UTF8.GetBytes($"\n[lcluster: {_name} cut at {_cap} bytes; the rest was discarded]\n"), offset);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            file.Dispose();
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    private int Keep(SafeFileHandle file, ReadOnlySpan<byte> data, long offset)
    {
        try
        {
            RandomAccess.Write(file, data, offset);
        }
        catch (IOException e)
        {
            _failure = $"writing the job's {_name}: {e.Message}";
        }
        return data.Length;
    }
}
