using Lcluster.Daemon.Hosting;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// ListJobs from memory, as Kubernetes' API server lists from its watch cache. etcd 3.4 answers a
/// range read by walking every key of the range, however small its limit, so a page read from the
/// index keys costs etcd time in proportion to the jobs retained. A node that serves listings
/// instead keeps a <see cref="ListingIndex"/> of every job (read once, then followed by a watch on
/// the records), chooses a page from it, and reads only that page's records from etcd.
///
/// A page is as fresh as a read of etcd: every Txn that changes a job record also puts
/// <see cref="Keys.JobsChanged"/>, so one point read tells which revision the view must have
/// reached, and the page's records are read at a revision where the view and etcd agree (each
/// record's mod_revision is checked against the view). Until the view is loaded, when it cannot
/// catch up in time, or on any disagreement, the listing reads the index keys as before.
///
/// The view is started by the first listing a node serves and dropped after
/// <see cref="IdleAfter"/> without one, so nodes nobody lists from hold nothing.
/// </summary>
internal sealed class ListingCache(JobStore store, Log log)
{
    private static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan CatchUpWithin = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private ListingIndex _index = new();

    /// <summary>Every job change up to this revision is in the view; 0 while there is no view.</summary>
    private long _revision;

    /// <summary>Completed (and replaced) whenever the view advances or is dropped.</summary>
    private TaskCompletionSource _advanced = NewSignal();

    /// <summary>Completed by a listing when the view is not running; replaced when it is dropped.</summary>
    private TaskCompletionSource _wanted = NewSignal();

    private long _lastUsed = Environment.TickCount64;

    /// <summary>
    /// A page from the view, or null when this listing must read the index keys instead (the
    /// view is loading, behind, or disagrees with etcd).
    /// </summary>
    public async Task<JobPage?> TryListAsync(JobFilter filter, int pageSize, string? after, CancellationToken ct)
    {
        Volatile.Write(ref _lastUsed, Environment.TickCount64);
        TaskCompletionSource wanted;
        lock (_lock)
            wanted = _wanted;
        wanted.TrySetResult();
        OrderKey? start = null;
        if (Volatile.Read(ref _revision) == 0 || (after is not null && (start = OrderKey.Parse(after)) is null))
            return null;

        var (changed, current) = await store.JobsChangedAsync(ct);
        IReadOnlyList<ListingIndex.Entry> entries;
        bool more;
        long at;
        using (var catchUp = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            catchUp.CancelAfter(CatchUpWithin);
            while (true)
            {
                Task advanced;
                lock (_lock)
                {
                    if (_revision == 0)
                        return null;
                    if (_revision >= changed)
                    {
                        (entries, more) = _index.Select(filter, pageSize, start);
                        // No job changed between `changed` and `current`, nor after the view's revision up to itself.
                        at = Math.Max(_revision, current);
                        break;
                    }
                    advanced = _advanced.Task;
                }
                try
                {
                    await advanced.WaitAsync(catchUp.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    log.Warn($"listing view: still at revision {Volatile.Read(ref _revision)} after {CatchUpWithin.TotalSeconds:0}s, jobs changed at {changed}; listing from etcd");
                    return null;
                }
            }
        }

        IReadOnlyList<StoredJob?> records;
        try
        {
            records = await store.GetManyAtAsync([.. entries.Select(e => e.Key.Id)], at, ct);
        }
        catch (EtcdCompactedException)
        {
            return null;
        }
        for (var i = 0; i < entries.Count; i++)
        {
            if (records[i]?.ModRevision != entries[i].ModRevision)
            {
                log.Warn($"listing view: job {entries[i].Key.Id} is at revision {entries[i].ModRevision} in the view and {records[i]?.ModRevision.ToString() ?? "absent"} in etcd at {at}; listing from etcd");
                return null;
            }
        }
        return new JobPage([.. records.Select(r => r!.Record)], more ? entries[^1].Key.ToString() : null, at);
    }

    /// <summary>
    /// Until cancelled: waits for a listing, then loads the view and follows every job change,
    /// until no listing came for <see cref="IdleAfter"/>; a broken read or watch starts it over.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var retry = FirstRetry;
        while (!ct.IsCancellationRequested)
        {
            Task wanted;
            lock (_lock)
                wanted = _wanted.Task;
            await wanted.WaitAsync(ct);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var idle = DropWhenIdleAsync(running);
            Exception? failure = null;
            try
            {
                var revision = await LoadAsync(running.Token);
                retry = FirstRetry;
                await FollowAsync(revision, running.Token);
            }
            catch (Exception) when (running.IsCancellationRequested)
            {
                // Dropped for idleness, or the daemon stops: whatever the cancelled read or watch threw ends here.
            }
            catch (Exception e) when (e is EtcdException or IOException)
            {
                log.Warn($"listing view: {e.Message}; reading it again in {retry.TotalSeconds:0}s");
                failure = e;
            }
            catch (Exception e)
            {
                // A record the view cannot read, or a fault of its own: listings read etcd meanwhile, the node serves on.
                log.Error($"listing view failed, reading it again in {retry.TotalSeconds:0}s: {e}");
                failure = e;
            }
            finally
            {
                await running.CancelAsync();
                await idle;
            }
            // Wanted still if a listing came within IdleAfter (one may have come after the idle check).
            Drop(keepWanted: IdleFor < IdleAfter);
            if (failure is not null)
            {
                await Task.Delay(retry, ct);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
            }
        }
    }

    private TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastUsed));

    /// <summary>Cancels <paramref name="running"/> once no listing came for <see cref="IdleAfter"/>.</summary>
    private async Task DropWhenIdleAsync(CancellationTokenSource running)
    {
        try
        {
            while (true)
            {
                var idleFor = IdleFor;
                if (idleFor >= IdleAfter)
                {
                    await running.CancelAsync();
                    return;
                }
                await Task.Delay(IdleAfter - idleFor, running.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The view stopped for another reason.
        }
    }

    private async Task<long> LoadAsync(CancellationToken ct)
    {
        var index = new ListingIndex();
        long revision = 0;
        await foreach (var (jobs, at) in store.ScanJobsAsync(ct))
        {
            revision = at;
            foreach (var job in jobs)
                index.Put(job.Record, job.ModRevision);
        }
        lock (_lock)
        {
            _index = index;
            Advance(revision);
        }
        // Reading every record leaves garbage of their size, much of it the large messages etcd's pages came in, which
        // the GC keeps committed after its collections; give it back once, as the daemon does after its start.
        StartupMemory.ReleaseNow();
        log.Info($"listing view loaded: {index.Count} job(s) at revision {revision}, {GC.GetTotalMemory(false) >> 20} MB of heap in use");
        return revision;
    }

    private async Task FollowAsync(long revision, CancellationToken ct)
    {
        await foreach (var batch in store.WatchRecordsAsync(revision + 1, ct))
        {
            lock (_lock)
            {
                foreach (var change in batch)
                {
                    if (change.Record is { } record)
                        _index.Put(record, change.Revision);
                    else
                        _index.Remove(change.Id);
                }
                // etcd sends all of a revision's events in one response, so the view holds that revision whole.
                Advance(batch[^1].Revision);
            }
        }
    }

    /// <summary>Under the lock: the view now holds every change up to <paramref name="revision"/>.</summary>
    private void Advance(long revision)
    {
        _revision = revision;
        _advanced.TrySetResult();
        _advanced = NewSignal();
    }

    private void Drop(bool keepWanted)
    {
        lock (_lock)
        {
            _index = new ListingIndex();
            _revision = 0;
            _advanced.TrySetResult();
            _advanced = NewSignal();
            if (!keepWanted)
                _wanted = NewSignal();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
