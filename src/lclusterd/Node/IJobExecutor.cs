using Lcluster.Runtime;

namespace Lcluster.Daemon.Node;

/// <summary>
/// What runs a node's jobs once the agent has marked them running. The daemon's is the container runtime
/// (<see cref="SandboxExecutor"/>); the scale simulator (bench/Scale) plugs in one that runs nothing, so the prime
/// and etcd can be measured with more nodes than would fit this machine's cores.
/// </summary>
internal interface IJobExecutor
{
    /// <summary>
    /// Starts a job and returns once it runs. Bad input throws ArgumentException, a node-side failure
    /// SandboxException (nothing of the job is left in either case); a job that could not start returns an
    /// <see cref="ExecutingJob"/> whose Completion already holds the StartFailure.
    /// </summary>
    Task<ExecutingJob> StartAsync(SandboxSpec spec, CancellationToken ct);

    /// <summary>At start: kills what a crashed predecessor left running here; returns the job ids it found.</summary>
    Task<IReadOnlyList<string>> ReapLeftoversAsync(CancellationToken ct);

    /// <summary>Kills and removes what is left of one job of an earlier run; a no-op when there is nothing.</summary>
    Task KillLeftoverAsync(string jobId, CancellationToken ct);
}

/// <summary>A job an executor started: how it ends, and how to end it now.</summary>
internal sealed class ExecutingJob(Task<ContainerResult> completion, Func<Task> kill, int pid = 0)
{
    /// <summary>The host pid of its first process (the container's init); 0 when nothing runs (a hollow executor).</summary>
    public int Pid => pid;

    /// <summary>Completes once the job ended and everything of it is gone.</summary>
    public Task<ContainerResult> Completion => completion;

    /// <summary>Kills the job now; completes with <see cref="Completion"/>.</summary>
    public Task KillAsync() => kill();
}

/// <summary>The daemon's executor: every job in a container of the <see cref="Sandbox"/>.</summary>
internal sealed class SandboxExecutor(Sandbox sandbox) : IJobExecutor
{
    public async Task<ExecutingJob> StartAsync(SandboxSpec spec, CancellationToken ct)
    {
        var container = await sandbox.StartAsync(spec, ct);
        return new ExecutingJob(container.Completion, container.KillAsync, container.Pid);
    }

    public Task<IReadOnlyList<string>> ReapLeftoversAsync(CancellationToken ct) => sandbox.ReapLeftoversAsync(ct);

    public Task KillLeftoverAsync(string jobId, CancellationToken ct) => sandbox.KillLeftoverAsync(jobId, ct);
}
