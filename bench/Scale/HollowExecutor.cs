using Lcluster.Daemon.Node;
using Lcluster.Runtime;

namespace Lcluster.Scale;

/// <summary>
/// The executor of a hollow node: nothing is started. A job "runs" for <paramref name="runTime"/> (zero: it ends at
/// once) and ends with exit code 0; a kill ends it at once as SIGKILL would. The node agent around it is the
/// daemon's own, so every etcd read and fenced write of a job's life happens as on a real node. Each start is told
/// to <paramref name="started"/> (the simulator's ledger: which node ran which job, how often). With a
/// <paramref name="gate"/>, no job ends before the gate opens: the simulator holds an API node's slots with it while
/// it measures acceptance alone.
/// </summary>
internal sealed class HollowExecutor(TimeSpan runTime, Action<string>? started = null, Task? gate = null) : IJobExecutor
{
    private long _started;

    /// <summary>Jobs started so far.</summary>
    public long Started => Interlocked.Read(ref _started);

    public Task<ExecutingJob> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        Interlocked.Increment(ref _started);
        started?.Invoke(spec.JobId);
        if (runTime <= TimeSpan.Zero && (gate is null || gate.IsCompleted))
        {
            var done = Task.FromResult(Result(killed: false, TimeSpan.Zero));
            return Task.FromResult(new ExecutingJob(done, () => done));
        }
        var kill = new CancellationTokenSource();
        var completion = RunAsync(kill.Token);
        return Task.FromResult(new ExecutingJob(completion, async () =>
        {
            await kill.CancelAsync();
            await completion;
        }));
    }

    private async Task<ContainerResult> RunAsync(CancellationToken killed)
    {
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            if (gate is not null)
                await gate.WaitAsync(killed);
            if (runTime > TimeSpan.Zero)
                await Task.Delay(runTime, killed);
            return Result(killed: false, runTime);
        }
        catch (OperationCanceledException) when (killed.IsCancellationRequested)
        {
            return Result(killed: true, TimeProvider.System.GetElapsedTime(started));
        }
    }

    private static ContainerResult Result(bool killed, TimeSpan wall) => new(
        ExitCode: killed ? null : 0, Signal: killed ? 9 : null, OomKilled: false, TimedOut: false, Killed: killed, StartFailure: null,
        PeakMemoryBytes: 0, CpuTime: TimeSpan.Zero, WallTime: wall, StdoutBytes: 0, StderrBytes: 0, StdoutTruncated: false, StderrTruncated: false);

    /// <summary>A hollow node leaves nothing behind when it stops.</summary>
    public Task<IReadOnlyList<string>> ReapLeftoversAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task KillLeftoverAsync(string jobId, CancellationToken ct) => Task.CompletedTask;
}
