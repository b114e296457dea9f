using Lcluster.Daemon.Hosting;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Watching;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Store;

/// <summary>
/// The bytes each user's jobs hold in etcd (command, environment, stdin, records, output tails), from the usage ledger:
/// one key per job, /lcluster/usage/OWNER/ID holding its byte count, written in the Txn that creates the job, rewritten
/// by the one that saves its output tails, and deleted in the one that deletes it. Read once, then kept current by a
/// watch; re-read whenever the watch breaks. Each node keeps its own view, so a quota check costs no round trip, and
/// charges the jobs it admits until the view shows them (<see cref="QuotaLedger"/>): requests admitted at once on one
/// node stay within the quota together. Views of different nodes may lag a moment behind each other, so two nodes
/// admitting the same user at the same moment can each let a request through that together go a little over: a quota,
/// not a fence.
/// </summary>
internal sealed class UsageView(EtcdClient etcd, Log log)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>How long an admission waits for the view's first read before it gives up as on an etcd outage.</summary>
    private static readonly TimeSpan LoadWait = TimeSpan.FromSeconds(5);

    private readonly QuotaLedger _ledger = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Checks a request of <paramref name="owner"/>'s against <paramref name="quota"/> bytes once the view has been
    /// read, and charges its jobs when it fits (<see cref="QuotaLedger.Admit"/>); the caller ends the charge with
    /// <see cref="Created"/> or <see cref="Release"/>.
    /// </summary>
    public async Task<QuotaLedger.Admission> AdmitAsync(string owner, IReadOnlyList<(string Id, long Bytes)> jobs, long quota, CancellationToken ct)
    {
        try
        {
            await _loaded.Task.WaitAsync(LoadWait, ct);
        }
        catch (TimeoutException)
        {
            throw new EtcdUnavailableException($"the usage ledger has not been read in {LoadWait.TotalSeconds:0} s");
        }
        return _ledger.Admit(owner, jobs, quota, Environment.TickCount64);
    }

    /// <inheritdoc cref="QuotaLedger.Created"/>
    public void Created(QuotaLedger.Admission admission, IReadOnlyCollection<string> created) => _ledger.Created(admission, created, Environment.TickCount64);

    /// <inheritdoc cref="QuotaLedger.Release"/>
    public void Release(QuotaLedger.Admission admission) => _ledger.Release(admission);

    /// <summary>Reads the ledger and follows it until cancelled; a broken watch or read is logged and started over.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var revision = await LoadAsync(ct);
                await FollowAsync(revision, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is EtcdException or IOException or InvalidOperationException)
            {
                log.Warn($"usage view: {e.Message}; reading it again");
                await Task.Delay(RetryAfter, ct);
            }
        }
    }

    private async Task<long> LoadAsync(CancellationToken ct)
    {
        var entries = new List<(string, long)>();
        long revision = 0;
        await foreach (var page in etcd.ScanAsync(Keys.Usage, cancellationToken: ct))
        {
            revision = page.Revision;
            foreach (var kv in page.Kvs)
                entries.Add((kv.KeyText, Keys.UsageBytes(kv.Value.Span)));
        }
        _ledger.Load(entries);
        _loaded.TrySetResult();
        return revision;
    }

    private async Task FollowAsync(long revision, CancellationToken ct)
    {
        await foreach (var batch in etcd.WatchAsync(Keys.Usage, new WatchOptions { Prefix = true, StartRevision = revision + 1, PrevKv = true }, ct))
        {
            foreach (var e in batch.Events)
            {
                if (e.Type == Event.Types.EventType.Delete)
                {
                    if (e.PrevKv is null)
                        throw new InvalidOperationException($"the deletion of {e.Kv.KeyText} came without its value");
                    _ledger.Removed(e.Kv.KeyText, Keys.UsageBytes(e.PrevKv.Value.Span));
                }
                else if (e.Kv.Version == 1)
                {
                    _ledger.Stored(e.Kv.KeyText, Keys.UsageBytes(e.Kv.Value.Span));
                }
                else
                {
                    if (e.PrevKv is null)
                        throw new InvalidOperationException($"the change of {e.Kv.KeyText} came without its earlier value");
                    _ledger.Changed(e.Kv.KeyText, Keys.UsageBytes(e.PrevKv.Value.Span), Keys.UsageBytes(e.Kv.Value.Span));
                }
            }
        }
    }
}
