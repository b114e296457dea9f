using System.Diagnostics;
using Lcluster.Runtime.Cgroups;
using Lcluster.Runtime.Output;
using Lcluster.Runtime.Processes;

namespace Lcluster.Runtime;

/// <summary>
/// One container from the moment its init is in its cgroups: waits for the end
/// (or kills at the deadline), then removes everything and builds the result.
/// </summary>
internal sealed class ContainerRun(string jobId, InitProcess init, IJobCgroup cgroup, JobDirectory directory,
    OutputCapture stdout, OutputCapture stderr)
{
    private static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Why the container was killed: the first reason given wins. Exited: PID 1 ended by itself before any, and a
    /// kill after that (a deadline firing, a shutdown while the output drains) changes nothing of how it ended.
    /// </summary>
    private enum KillReason { None, Kill, Timeout, Exited }

    private int _killedBy; // a KillReason, set once through Interlocked
    private volatile string? _killFailure;

    public string JobId => jobId;
    public int Pid => init.Pid;
    public InitProcess Init => init;
    public JobDirectory Directory => directory;
    public OutputCapture Stdout => stdout;
    public OutputCapture Stderr => stderr;

    /// <summary>The job runs: wait for PID 1 to end (the kernel then kills the rest of its PID namespace).</summary>
    public async Task<ContainerResult> RunAsync(TimeSpan? wallTime)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = wallTime is { } limit && limit > TimeSpan.Zero
            ? new WallTimeDeadline(started, limit, () => Kill(KillReason.Timeout))
            : null;
        var status = await init.Exit.ConfigureAwait(false);
        var wall = Stopwatch.GetElapsedTime(started);
        Interlocked.CompareExchange(ref _killedBy, (int)KillReason.Exited, (int)KillReason.None);
        return await FinishAsync(status, wall, startFailure: null).ConfigureAwait(false);
    }

    /// <summary>The init reported it could not build the container; it exits by itself.</summary>
    public async Task<ContainerResult> FailedStartAsync(string reason)
    {
        Kill(KillReason.None);
        var status = await init.Exit.ConfigureAwait(false);
        return await FinishAsync(status, TimeSpan.Zero, reason).ConfigureAwait(false);
    }

    public void Kill() => Kill(KillReason.Kill);

    private void Kill(KillReason reason)
    {
        if (reason != KillReason.None &&
            Interlocked.CompareExchange(ref _killedBy, (int)reason, (int)KillReason.None) == (int)KillReason.Exited)
            return; // PID 1 took its namespace with it, and FinishAsync kills whatever slipped out
        // PID 1 first: its death takes the whole PID namespace with it, even if the cgroup kill below fails.
        ChildExits.SignalIfAlive(init.Pid, Native.Libc.SIGKILL);
        try
        {
            cgroup.KillAll();
        }
        catch (IOException e)
        {
            _killFailure = $"cgroup kill: {e.Message}"; // runs on a timer too: must not throw
        }
    }

    private async Task<ContainerResult> FinishAsync(ExitStatus status, TimeSpan wall, string? startFailure)
    {
        var problems = new List<string>();
        if (_killFailure is { } failedKill)
            problems.Add(failedKill);
        CgroupUsage usage = new(0, TimeSpan.Zero, false);
        try
        {
            // Nothing of the job can outlive PID 1 inside its PID namespace; this catches anything that slipped out.
            if (cgroup.Processes().Count > 0)
                cgroup.KillAll();
            await DrainOutputAsync(problems).ConfigureAwait(false);
            usage = cgroup.ReadUsage();
            await cgroup.RemoveAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            problems.Add(e.Message);
        }
        try
        {
            directory.Delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"removing the job directory: {e.Message}");
        }
        await init.DisposeAsync().ConfigureAwait(false);
        if (startFailure is not null && usage.OomKilled)
            startFailure += ": the OOM killer struck before exec, the memory limit is too small to start a container";
        var killed = (KillReason)Volatile.Read(ref _killedBy);
        return new ContainerResult(
            ExitCode: startFailure is null ? status.Code : null,
            Signal: startFailure is null ? status.Signal : null,
            OomKilled: usage.OomKilled,
            TimedOut: killed == KillReason.Timeout,
            Killed: killed == KillReason.Kill,
            StartFailure: startFailure,
            PeakMemoryBytes: usage.PeakMemoryBytes,
            CpuTime: usage.CpuTime,
            WallTime: wall,
            StdoutBytes: stdout.Bytes,
            StderrBytes: stderr.Bytes,
            StdoutTruncated: stdout.Truncated,
            StderrTruncated: stderr.Truncated,
            InfrastructureFailure: problems.Count == 0 ? null : string.Join("; ", problems));
    }

    private async Task DrainOutputAsync(List<string> problems)
    {
        try
        {
            await Task.WhenAll(stdout.Completion, stderr.Completion).WaitAsync(OutputDrainWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            problems.Add($"the job's output pipes stayed open {OutputDrainWait.TotalSeconds:0} s after it ended");
        }
        foreach (var failure in new[] { stdout.Failure, stderr.Failure })
            if (failure is not null)
                problems.Add(failure);
    }
}
