using Lcluster.Etcd.Kv;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Store;

internal sealed partial class JobStore
{
    /// <summary>How many creation Txns may be in flight at once: submissions that arrive meanwhile wait and share the next.</summary>
    private const int CreationsInFlight = 4;

    private readonly Lock _creationGate = new();
    private readonly Queue<Creation> _waitingCreations = new();
    private int _creationsInFlight;

    /// <summary>One AddJob's jobs, waiting for a Txn, and what its caller awaits: the ids created now.</summary>
    private sealed record Creation(List<NewJob> Jobs, long Bytes, CancellationToken Caller)
    {
        public TaskCompletionSource<IReadOnlyList<string>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Records new jobs with their specs, stdin, queue entries and index keys, each only if its id is still
    /// free. Returns the ids that were created now; an id already taken (an AddJob retried with the same
    /// request id) is left as it is.
    /// <para>
    /// Submissions share Txns (a group commit): a Txn's fixed cost in etcd (its raft entry, its apply, its
    /// request) is several times the cost of one job's keys, so while <see cref="CreationsInFlight"/> Txns are
    /// in flight, the submissions that arrive meanwhile go together in the next one, as many as fit. A lone
    /// submission goes at once, as before. A Txn etcd did not confirm fails every submission in it with that
    /// error; each caller learns its outcome is unknown, as it would alone.
    /// </para>
    /// </summary>
    public async Task<IReadOnlyList<string>> CreateAsync(IReadOnlyList<NewJob> jobs, CancellationToken ct)
    {
        var chunks = TxnSized(jobs).ToList();
        if (chunks.Count > 1)
        {
            // An array larger than one Txn: its parts in turn. Once the first is sent the others follow even if the
            // caller goes away (its deadline, its connection), so that giving up does not leave part of an array: a
            // first part given up on while in flight may have been written all the same. Only etcd failing stops one
            // part-way, and the caller hears of it: the same request sent again (its request id) creates the rest.
            ct.ThrowIfCancellationRequested();
            var created = new List<string>(await CreateEachAsync(chunks[0], CancellationToken.None));
            foreach (var chunk in chunks.Skip(1))
                created.AddRange(await CreateEachAsync(chunk, CancellationToken.None));
            return created;
        }
        var creation = new Creation(chunks[0], chunks[0].Sum(j => j.StoredBytes), ct);
        lock (_creationGate)
        {
            _waitingCreations.Enqueue(creation);
            SendWaitingCreations();
        }
        return await creation.Done.Task.WaitAsync(ct);
    }

    /// <summary>Starts a Txn for the submissions waiting, as many as fit in one, while fewer than the most are in flight. Under the gate.</summary>
    private void SendWaitingCreations()
    {
        // A caller that gave up while its submission waited (its deadline, its connection) has it never sent: that
        // its jobs do not exist is then certain, not merely unknown.
        while (_waitingCreations.TryPeek(out var first) && first.Caller.IsCancellationRequested)
            _waitingCreations.Dequeue().Done.TrySetCanceled(first.Caller);
        while (_creationsInFlight < CreationsInFlight && _waitingCreations.Count > 0)
        {
            var batch = new List<Creation> { _waitingCreations.Dequeue() };
            var (count, bytes) = (batch[0].Jobs.Count, batch[0].Bytes);
            var ids = batch[0].Jobs.Select(j => j.Record.Job.Id).ToHashSet(StringComparer.Ordinal);
            // The same request sent twice at once names the same jobs: etcd refuses a Txn that puts a key twice, so the
            // second waits for the next Txn, where it finds its jobs made.
            while (_waitingCreations.TryPeek(out var next) && count + next.Jobs.Count <= JobsPerTxn && bytes + next.Bytes <= MaxTxnJobBytes
                   && !next.Jobs.Any(j => ids.Contains(j.Record.Job.Id)))
            {
                _waitingCreations.Dequeue();
                if (next.Caller.IsCancellationRequested)
                {
                    next.Done.TrySetCanceled(next.Caller);
                    continue;
                }
                batch.Add(next);
                (count, bytes) = (count + next.Jobs.Count, bytes + next.Bytes);
                ids.UnionWith(next.Jobs.Select(j => j.Record.Job.Id));
            }
            _creationsInFlight++;
            _ = Task.Run(() => CreateBatchAsync(batch));
        }
    }

    /// <summary>
    /// One Txn for the whole batch. When an id in it is taken already, or etcd refuses the Txn for something in it (not
    /// an outage), each submission on its own, so that only its caller hears of its fault. Never throws: callers get the outcome.
    /// </summary>
    private async Task CreateBatchAsync(List<Creation> batch)
    {
        try
        {
            try
            {
                if (await TryCreateAllAsync([.. batch.SelectMany(c => c.Jobs)], CancellationToken.None))
                {
                    foreach (var creation in batch)
                        creation.Done.TrySetResult([.. creation.Jobs.Select(j => j.Record.Job.Id)]);
                    return;
                }
            }
            catch (EtcdException e) when (batch.Count > 1 && e is not EtcdUnavailableException)
            {
                // etcd refused the Txn for something in it: each submission alone (a creation is safe to repeat, its
                // compares see to that), so the others go through. An outage fails the whole batch below, at once.
            }
            await Task.WhenAll(batch.Select(async creation =>
            {
                try
                {
                    creation.Done.TrySetResult(await CreateEachAsync(creation.Jobs, CancellationToken.None));
                }
                catch (Exception e)
                {
                    creation.Done.TrySetException(e); // the caller's to handle, as if it had made the call itself
                }
            }));
        }
        catch (Exception e)
        {
            foreach (var creation in batch)
                creation.Done.TrySetException(e); // the callers' to handle, as if each had made the call itself
        }
        finally
        {
            lock (_creationGate)
            {
                _creationsInFlight--;
                SendWaitingCreations();
            }
        }
    }

    /// <summary>The jobs of one Txn-sized group: the free ids created, the taken ones left alone.</summary>
    private async Task<IReadOnlyList<string>> CreateEachAsync(List<NewJob> jobs, CancellationToken ct)
    {
        var pending = jobs;
        while (pending.Count > 0 && !await TryCreateAllAsync(pending, ct))
        {
            // Some exist already (a retried request): create the others.
            var taken = (await GetManyAsync(pending.Select(j => j.Record.Job.Id).ToList(), ct)).Select(j => j.Id).ToHashSet();
            pending = pending.Where(j => !taken.Contains(j.Record.Job.Id)).ToList();
        }
        return [.. pending.Select(j => j.Record.Job.Id)];
    }

    /// <summary>One Txn creating every job given, if none of their ids is taken; false (nothing written) otherwise.</summary>
    private async Task<bool> TryCreateAllAsync(List<NewJob> jobs, CancellationToken ct)
    {
        var txn = Txn.If([.. jobs.Select(j => Cmp.CreateRevision(Keys.Job(j.Record.Job.Id)) == 0)])
            .Then([.. jobs.SelectMany(j => j.Ops()), JobsChanged]);
        if (!(await etcd.TxnAsync(txn, ct)).Succeeded)
            return false;
        Metrics.DaemonMetrics.JobsSubmitted(jobs.Count);
        return true;
    }

    /// <summary>How many jobs one Txn may create: each takes up to <see cref="NewJob.MaxOps"/> ops and a compare (and the Txn one op more, <see cref="Keys.JobsChanged"/>).</summary>
    private static int JobsPerTxn => Math.Max(1, MaxTxnOps / (NewJob.MaxOps + 1));

    /// <summary>The jobs in Txn-sized groups, in order: within etcd's op count and request size, at least one job each.</summary>
    private static IEnumerable<List<NewJob>> TxnSized(IReadOnlyList<NewJob> jobs)
    {
        var group = new List<NewJob>();
        long bytes = 0;
        foreach (var job in jobs)
        {
            var size = job.StoredBytes;
            if (group.Count > 0 && (group.Count == JobsPerTxn || bytes + size > MaxTxnJobBytes))
            {
                yield return group;
                group = [];
                bytes = 0;
            }
            group.Add(job);
            bytes += size;
        }
        if (group.Count > 0)
            yield return group;
    }
}
