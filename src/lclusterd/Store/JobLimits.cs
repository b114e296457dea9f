using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// A job's limits in force, or a node's largest accepted limits. Zero means
/// "none" (unlimited) in every field.
/// </summary>
internal sealed record JobLimits(long MemoryBytes, double Cpus, long Pids, double TimeSeconds, long DiskBytes = 0)
{
    public static readonly JobLimits None = new(0, 0, 0, 0);

    public static JobLimits From(Limits? limits) =>
        limits is null ? None : new(limits.MemoryBytes, limits.Cpus, limits.Pids, limits.TimeSeconds, limits.DiskBytes);

    public Limits ToProto() => new() { MemoryBytes = MemoryBytes, Cpus = Cpus, Pids = Pids, TimeSeconds = TimeSeconds, DiskBytes = DiskBytes };

    /// <summary>Each field that is unset here taken from <paramref name="defaults"/>.</summary>
    public JobLimits Or(JobLimits defaults) => new(
        MemoryBytes > 0 ? MemoryBytes : defaults.MemoryBytes,
        Cpus > 0 ? Cpus : defaults.Cpus,
        Pids > 0 ? Pids : defaults.Pids,
        TimeSeconds > 0 ? TimeSeconds : defaults.TimeSeconds,
        DiskBytes > 0 ? DiskBytes : defaults.DiskBytes);
}
