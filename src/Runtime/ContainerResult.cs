namespace Lcluster.Runtime;

/// <summary>How a container ended, once everything of it is gone.</summary>
/// <param name="ExitCode">The job's exit code; null when it died by a signal or never started.</param>
/// <param name="Signal">The signal that killed the job's PID 1 (9 after KillAsync, a timeout or the OOM killer).</param>
/// <param name="OomKilled">The kernel's OOM killer killed a process of the job.</param>
/// <param name="TimedOut">The wall-time limit killed the container.</param>
/// <param name="Killed">KillAsync killed the container.</param>
/// <param name="StartFailure">Why the container could not start ("rootfs has no /bin/sh", "mount /proc: EPERM (...)"); null when it ran.</param>
/// <param name="InfrastructureFailure">What the node failed at for this job (writing its output, removing its cgroups or layer): not the job's fault, the daemon should log it; null when all went well.</param>
public sealed record ContainerResult(
    int? ExitCode,
    int? Signal,
    bool OomKilled,
    bool TimedOut,
    bool Killed,
    string? StartFailure,
    long PeakMemoryBytes,
    TimeSpan CpuTime,
    TimeSpan WallTime,
    long StdoutBytes,
    long StderrBytes,
    bool StdoutTruncated,
    bool StderrTruncated,
    string? InfrastructureFailure = null);
