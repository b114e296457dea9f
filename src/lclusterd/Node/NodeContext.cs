using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Runtime.Host;

namespace Lcluster.Daemon.Node;

/// <summary>What the node's parts share: who it is, where state lives, what runs its jobs.</summary>
internal sealed record NodeContext(
    string Name, DaemonOptions Options, JobStore Store, Registration Registration, IJobExecutor Executor, OutputFiles Output, Log Log)
{
    /// <summary>Inputs this node keeps, and the jobs' /work (docs/files.md).</summary>
    public required JobFiles Files { get; init; }

    /// <summary>DATA_DIR/containers.log: a line per container start and end, appended only.</summary>
    public required ContainerLog ContainerLog { get; init; }

    /// <summary>The process that kills this node's containers if the daemon dies or stops past its fence; none without a sandbox.</summary>
    public ContainerGuard.Handle? Guard { get; init; }
}
