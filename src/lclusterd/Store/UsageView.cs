using Lcluster.Daemon.Hosting;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Watching;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Store;

/// <summary>
/// The bytes each user's jobs hold in etcd (command, environment and stdin), from the usage ledger: one key per job,
/// /lcluster/usage/OWNER/ID holding its byte count, written in the Txn that creates the job and deleted in the one
/// that deletes it. Read once, then kept current by a watch; re-read whenever the watch breaks. Each node keeps its
/// own view, so a quota check costs no round trip; views may lag a moment behind, so two nodes admitting the same
/// user at once can each let a request through that together go a little over: a quota, not a fence.
/// </summary>
internal sealed class UsageView(EtcdClient etcd, Log log)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The bytes a user's stored jobs hold, once the view has been read.</summary>
    public async Task<long> BytesOfAsync(string owner, CancellationToken ct)
    {
        await _loaded.Task.WaitAsync(ct);
        lock (_lock)
            return _bytes.GetValueOrDefault(JobIndex.Escape(owner));
    }

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
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        long revision = 0;
        await foreach (var page in etcd.ScanAsync(Keys.Usage, cancellationToken: ct))
        {
            revision = page.Revision;
            foreach (var kv in page.Kvs)
                Add(totals, kv.KeyText, Keys.UsageBytes(kv.Value.Span));
        }
        lock (_lock)
        {
            _bytes.Clear();
            foreach (var (owner, bytes) in totals)
                _bytes[owner] = bytes;
        }
        _loaded.TrySetResult();
        return revision;
    }

    private async Task FollowAsync(long revision, CancellationToken ct)
    {
        await foreach (var batch in etcd.WatchAsync(Keys.Usage, new WatchOptions { Prefix = true, StartRevision = revision + 1, PrevKv = true }, ct))
        {
            lock (_lock)
            {
                foreach (var e in batch.Events)
                {
                    if (e.Type == Event.Types.EventType.Delete)
                    {
                        if (e.PrevKv is null)
                            throw new InvalidOperationException($"the deletion of {e.Kv.KeyText} came without its value");
                        Add(_bytes, e.Kv.KeyText, -Keys.UsageBytes(e.PrevKv.Value.Span));
                    }
                    else if (e.Kv.Version == 1)
                    {
                        Add(_bytes, e.Kv.KeyText, Keys.UsageBytes(e.Kv.Value.Span));
                    }
                }
            }
        }
    }

    private static void Add(Dictionary<string, long> totals, string key, long bytes)
    {
        var owner = Keys.UsageOwner(key);
        var total = totals.GetValueOrDefault(owner) + bytes;
        if (total > 0)
            totals[owner] = total;
        else
            totals.Remove(owner);
    }
}
