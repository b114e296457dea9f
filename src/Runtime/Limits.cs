namespace Lcluster.Runtime;

/// <summary>A job's resource limits; null or 0 means unlimited.</summary>
public sealed record Limits
{
    public static Limits None { get; } = new();

    /// <summary>Memory (and memory+swap) in bytes; going over it gets the job OOM-killed.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>CPU time as a fraction of one CPU (0.5 = half a core), enforced per 100 ms period.</summary>
    public double? Cpus { get; init; }

    /// <summary>Processes and threads the job may have at once.</summary>
    public int? Pids { get; init; }

    /// <summary>
    /// Bytes the job may write to its root filesystem (its writable layer) and, separately, to its /tmp: past it
    /// writes fail with ENOSPC. Both are tmpfs, so what is written also counts against <see cref="MemoryBytes"/>.
    /// </summary>
    public long? DiskBytes { get; init; }

    /// <summary>Wall-clock time from exec; at the deadline the whole container is killed.</summary>
    public TimeSpan? WallTime { get; init; }

    internal void Validate()
    {
        if (MemoryBytes < 0)
            throw new ArgumentException($"memory limit {MemoryBytes} is negative");
        if (Cpus is { } cpus && (double.IsNaN(cpus) || double.IsInfinity(cpus) || cpus < 0))
            throw new ArgumentException($"cpu limit {cpus} is not a non-negative number");
        if (Pids < 0)
            throw new ArgumentException($"pids limit {Pids} is negative");
        if (DiskBytes < 0)
            throw new ArgumentException($"disk limit {DiskBytes} is negative");
        if (WallTime < TimeSpan.Zero)
            throw new ArgumentException($"wall-time limit {WallTime} is negative");
    }
}
