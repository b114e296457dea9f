using Lcluster.Daemon.Hosting;
using Lcluster.Etcd;
using Lcluster.Etcd.Concurrency;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Keeps the node honest about its lease. When etcd says the lease is gone
/// (the node was cut off, or stalled, past its TTL), the jobs of that
/// incarnation are killed and the node registers again as a new one. When
/// the node cannot reach etcd for --fence-timeout, it kills its jobs before
/// the prime may start them elsewhere; a shorter etcd outage loses nothing.
/// </summary>
internal sealed class Liveness(NodeContext node, NodeAgent agent, NodeHealth health)
{
    private static readonly TimeSpan Check = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long after this node's own fence the guard fences for it: later than the node (which, running, kills its
    /// jobs itself, with the cause), earlier than a prime's retry (at least fence timeout + 1 s after that renewal).
    /// </summary>
    private static readonly TimeSpan GuardMargin = TimeSpan.FromMilliseconds(500);

    public async Task RunAsync(CancellationToken ct)
    {
        var fenced = false;
        health.Set(true);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(Check, ct);
            var session = node.Registration.Session;
            TellGuard(node);
            health.Set(node.Registration.Standing(session.LeaseId, within: node.Options.LeaseTtl) == LeaseStanding.Confirmed);
            if (session.Lost.IsCancellationRequested)
            {
                node.Log.Warn($"node {node.Name}: etcd says lease {session.LeaseId:x} is gone ({session.LostReason}); killing its jobs and registering again");
                Background.Run(node.Log, $"node {node.Name}: killing the jobs of lost lease {session.LeaseId:x}", () => agent.KillAllAsync(KillCause.Orphaned));
                await RegisterAgainAsync(ct);
                agent.Resync();
                fenced = false;
                continue;
            }
            var silent = session.SinceLastRenewal;
            if (silent > node.Options.FenceTimeout && !fenced)
            {
                fenced = true;
                node.Log.Warn($"node {node.Name}: no contact with etcd for {silent.TotalSeconds:0}s (fence timeout {node.Options.FenceTimeout.TotalSeconds:0}s); killing its {agent.Running} job(s) so they cannot run twice");
                Background.Run(node.Log, $"node {node.Name}: killing its jobs at the fence timeout", () => agent.KillAllAsync(KillCause.Fenced));
            }
            else if (silent < node.Options.LeaseTtl)
            {
                fenced = false;
            }
        }
    }

    /// <summary>
    /// Tells the guard the deadline past which it kills this node's containers, should the daemon stop or hang before
    /// it does. Told once before the node takes any job (a guard with no deadline waits for one for ever), then at
    /// every check.
    /// </summary>
    public static void TellGuard(NodeContext node)
    {
        var deadline = node.Registration.Session.RenewedAt + (long)(node.Options.FenceTimeout + GuardMargin).TotalMilliseconds;
        if (node.Guard is { } guard && !guard.Extend(deadline))
            node.Log.Error($"node {node.Name}: its container guard (pid {guard.Pid}) is gone: a stopped or killed daemon's containers would run on");
    }

    private async Task RegisterAgainAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await node.Registration.RenewIncarnationAsync(ct);
                return;
            }
            catch (EtcdUnavailableException e)
            {
                node.Log.Warn($"node {node.Name}: cannot register again yet ({e.Message})");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (NodeNameTakenException e)
            {
                // Another daemon took the name while this one was cut off: this one stays out until it goes.
                node.Log.Error($"node {node.Name}: cannot register again: {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }
}
