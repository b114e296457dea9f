using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Concurrency;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Prime;

/// <summary>
/// Campaigns for prime with the node's session; while it leads, runs the
/// reconcile loop that places queued jobs, settles orphans and applies
/// retention. Leadership ends with the session, the daemon, or a failed
/// fence — and then it campaigns again.
/// </summary>
internal sealed class PrimeRole(NodeContext node)
{
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var session = node.Registration.Session;
            var election = new Election(session, Keys.Prime);
            using var term = CancellationTokenSource.CreateLinkedTokenSource(ct, session.Lost);
            var isPrime = false;
            try
            {
                await election.CampaignAsync(node.Name, term.Token);
                isPrime = true;
                Metrics.DaemonMetrics.BecamePrime();
                node.Log.Info($"node {node.Name} is prime (election key {election.Key}, revision {election.Revision})");
                var fence = Cmp.CreateRevision(election.Key!) == election.Revision;
                await new Reconciler(node, fence).RunAsync(term.Token);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                // The session was lost: campaign again under the next incarnation.
            }
            catch (EtcdUnavailableException e)
            {
                node.Log.Warn($"node {node.Name}: prime role paused, etcd unreachable ({e.Message})");
            }
            catch (EtcdException e)
            {
                node.Log.Warn($"node {node.Name}: prime role: {e.Message}");
            }
            finally
            {
                if (isPrime)
                    node.Log.Info($"node {node.Name} is no longer prime");
            }
            await ResignAsync(election);
            if (!ct.IsCancellationRequested)
                await WaitForLiveSessionAsync(ct);
        }
    }

    private static async Task ResignAsync(Election election)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await election.ResignAsync(timeout.Token);
        }
        catch (Exception e) when (e is EtcdException or OperationCanceledException)
        {
            // Unresigned, the key still goes with the lease.
        }
    }

    /// <summary>How often a node that lost its session looks for the next one (Liveness registers it again).</summary>
    private static readonly TimeSpan SessionPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>A pause before campaigning again, so a node whose term just failed does not spin on etcd.</summary>
    private static readonly TimeSpan CampaignPause = TimeSpan.FromMilliseconds(100);

    // After a lost session, campaign again once the node has its next incarnation; returns early when stopping.
    private async Task WaitForLiveSessionAsync(CancellationToken ct)
    {
        try
        {
            while (node.Registration.Session.Lost.IsCancellationRequested)
                await Task.Delay(SessionPoll, ct);
            await Task.Delay(CampaignPause, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: RunAsync's loop ends.
        }
    }
}
