using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// One init for the <see cref="SpawnerThread"/> to start: its unmanaged arguments, built and freed on ordinary
/// threads, and what the spawn reports back. The spawner closes <see cref="DoneFd"/> when it is done with it.
/// </summary>
internal abstract unsafe class SpawnRequest(int doneFd) : IDisposable
{
    public readonly int DoneFd = doneFd;
    public int Pid, Error;
    public bool RestoreFailed;
    public string? FailedCall;
    private readonly List<nint> _allocations = [];

    /// <summary>Builds the arguments; the fds are the init's ends, which it gets as stdout, stderr, ControlFd and ReportFd.</summary>
    public abstract void Prepare(InitLaunch launch, int control, int report, int stdout, int stderr);

    public virtual void Dispose()
    {
        foreach (var p in _allocations)
            NativeMemory.Free((void*)p);
        _allocations.Clear();
    }

    protected void* Alloc(int size)
    {
        var p = NativeMemory.AllocZeroed((nuint)size);
        _allocations.Add((nint)p);
        return p;
    }

    protected byte* String(string value)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        var p = (byte*)Alloc(length + 1);
        System.Text.Encoding.UTF8.GetBytes(value, new Span<byte>(p, length));
        return p;
    }

    protected byte** Array(IReadOnlyList<string> values)
    {
        var array = (byte**)Alloc((values.Count + 1) * sizeof(byte*));
        for (var i = 0; i < values.Count; i++)
            array[i] = String(values[i]);
        return array;
    }
}
