using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// Every read and write lclusterd makes of job state in etcd (docs/etcd-keys.md); the API, the
/// node agent and the prime go through it and never through etcd themselves. Every write that
/// moves a job is one Txn fenced on the record's mod_revision plus the writer's own guard (its
/// lease, or the prime's key), and keeps the record's index copies in step with it. Every read
/// of a prefix is paginated.
/// </summary>
internal sealed partial class JobStore(EtcdClient etcd)
{
    /// <summary>Most Txn operations etcd takes by default (--max-txn-ops): creations are split to stay under it.</summary>
    private const int MaxTxnOps = 128;

    /// <summary>
    /// The most bytes of new jobs one Txn carries: etcd refuses a request over 1.5 MiB by default (--max-request-bytes),
    /// and the largest job a request may make (64 KiB command, 64 variables of 4 KiB, 1 MiB stdin) is under it alone.
    /// </summary>
    private const long MaxTxnJobBytes = 1L << 20;

    /// <summary>The op every Txn that writes or deletes job records carries once (docs/etcd-keys.md).</summary>
    private static Op JobsChanged => Op.Put(Keys.JobsChanged, ByteString.Empty);

    /// <summary>etcd's current revision, from a read of one key (a range would cost etcd a walk over it).</summary>
    public async Task<long> RevisionAsync(CancellationToken ct) =>
        (await etcd.GetAsync(Keys.Prime, new GetOptions { CountOnly = true }, ct)).Header.Revision;

    /// <summary>
    /// Raft entries the etcd member committed and has not applied yet: how far its apply loop is behind. 0 when the
    /// member does not say (etcd before 3.4).
    /// </summary>
    public async Task<long> ApplyBacklogAsync(CancellationToken ct)
    {
        var status = await etcd.StatusAsync(ct);
        return status.RaftAppliedIndex == 0 ? 0 : Math.Max(0, (long)status.RaftIndex - (long)status.RaftAppliedIndex);
    }

    /// <summary>
    /// etcd's current revision and the bytes its database has in use: pages compaction freed are free for reuse, the
    /// file keeps its size (etcd before 3.4 does not say what is in use: its whole file, then).
    /// </summary>
    public async Task<(long Revision, long InUseBytes)> SpaceAsync(CancellationToken ct)
    {
        var status = await etcd.StatusAsync(ct);
        return (status.Header.Revision, status.DbSizeInUse > 0 ? status.DbSizeInUse : status.DbSize);
    }

    /// <summary>Discards etcd's history before <paramref name="revision"/>: every key's older versions, and the keys deleted before it.</summary>
    public Task CompactAsync(long revision, CancellationToken ct) => etcd.CompactAsync(revision, physical: false, ct);

    public async Task<StoredJob?> GetAsync(string id, CancellationToken ct) => (await GetAtAsync(id, ct)).Job;

    /// <summary>The job (null: there is none) and the revision it was read at, from which a watch misses nothing after it.</summary>
    public async Task<(StoredJob? Job, long Revision)> GetAtAsync(string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Job(id), cancellationToken: ct);
        return (response.Kvs.Count == 0 ? null : StoredJob.From(response.Kvs[0]), response.Header.Revision);
    }

    /// <summary>The job as CheckJob shows it: its record with the whole command and environment from its spec.</summary>
    public async Task<Job?> GetWholeAsync(string id, CancellationToken ct)
    {
        var response = await etcd.TxnAsync(Txn.If().Then(Op.Get(Keys.Job(id)), Op.Get(Keys.Spec(id))), ct);
        if (response.Responses[0].ResponseRange.Kvs is not [var record, ..])
            return null;
        var job = JobRecord.Parser.ParseFrom(record.Value).Job;
        if (response.Responses[1].ResponseRange.Kvs is [var spec, ..])
            JobSpecs.Fill(job, JobSpec.Parser.ParseFrom(spec.Value));
        return job;
    }

    /// <summary>A job's whole spec; null when it has none (the job was deleted).</summary>
    public async Task<JobSpec?> GetSpecAsync(string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Spec(id), cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : JobSpec.Parser.ParseFrom(response.Kvs[0].Value);
    }

    /// <summary>
    /// The revision of the last change of any job record (0: none since the cluster began), and
    /// etcd's revision when it was read: no job record changed between the two.
    /// </summary>
    public async Task<(long Changed, long Revision)> JobsChangedAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.JobsChanged, cancellationToken: ct);
        return (response.Kvs.Count == 0 ? 0 : response.Kvs[0].ModRevision, response.Header.Revision);
    }

    /// <summary>Every job record, a page at a time, all read at the revision each page carries.</summary>
    public async IAsyncEnumerable<(IReadOnlyList<StoredJob> Jobs, long Revision)> ScanJobsAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        // Larger pages than a scan's default: etcd 3.4 walks the rest of the range for every page. A record stays under
        // 4 KiB (its command is a preview), so a page is a few MB at most.
        await foreach (var page in etcd.ScanAsync(Keys.Jobs, pageSize: 1000, cancellationToken: ct))
            yield return ([.. page.Kvs.Select(StoredJob.From)], page.Revision);
    }

    /// <summary>Records as they were at <paramref name="revision"/> (0: now), in the order of <paramref name="ids"/> (null where there was none).</summary>
    public async Task<IReadOnlyList<StoredJob?>> GetManyAtAsync(IReadOnlyList<string> ids, long revision, CancellationToken ct)
    {
        var found = new List<StoredJob?>(ids.Count);
        foreach (var chunk in ids.Chunk(MaxTxnOps))
        {
            var response = await etcd.TxnAsync(Txn.If().Then([.. chunk.Select(id => Op.Get(Keys.Job(id), new GetOptions { Revision = revision }))]), ct);
            found.AddRange(response.Responses.Select(r => r.ResponseRange.Kvs.Count > 0 ? StoredJob.From(r.ResponseRange.Kvs[0]) : null));
        }
        return found;
    }

    /// <summary>Several records in few round trips (missing ones are left out).</summary>
    public async Task<IReadOnlyList<StoredJob>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken ct) =>
        [.. (await GetManyAtAsync([.. ids], revision: 0, ct)).OfType<StoredJob>()];

    /// <summary>
    /// Writes a changed record and the ops that go with the transition, if the record is still at
    /// the revision the caller read and every guard holds; its index keys move with it.
    /// </summary>
    public async Task<bool> TryUpdateAsync(StoredJob read, JobRecord changed, IEnumerable<Compare> guards, IEnumerable<Op> ops, CancellationToken ct) =>
        await TryUpdateReadingAsync(new Update(read, changed, [.. guards], [.. ops]), [], ct) is not null;

    /// <summary>
    /// Marks a scheduled job running (<paramref name="running"/>, fenced by <paramref name="guard"/>) and reads, in the
    /// same Txn, the record as it committed and what the node needs to start the job: its spec and stdin. Null when
    /// the record changed or the guard failed. One Txn where a mark and reads would be several requests: every request
    /// costs etcd 3.4 a copy of its write buffer, and this one is made for every job. The record read back, with its
    /// revisions, is what the node's write of the job's end compares against, so that write needs no read of its own.
    /// The same Txn rewrites the job's run key of <paramref name="placement"/> as started (<see cref="Started"/>).
    /// </summary>
    public async Task<(StoredJob Running, WhatToRun What)?> TryMarkRunningAsync(StoredJob scheduled, JobRecord running, Compare guard, long placement,
        CancellationToken ct)
    {
        var id = scheduled.Id;
        string[] keys = scheduled.Record.HasStdin ? [Keys.Job(id), Keys.Spec(id), Keys.Stdin(id)] : [Keys.Job(id), Keys.Spec(id)];
        var run = Keys.Run(scheduled.Job.Node, id);
        var mark = new Update(scheduled, running, [guard, Cmp.CreateRevision(run) == placement], [Op.Put(run, Started(scheduled).ToByteString())]);
        if (await TryUpdateReadingAsync(mark, keys, ct) is not { Read: var read })
            return null;
        if (read[1] is not { } spec)
            throw new EtcdException($"job {id} has no spec in etcd (key {Keys.Spec(id)} is missing)");
        return (StoredJob.From(read[0]!), new WhatToRun(JobSpec.Parser.ParseFrom(spec.Value), read.Length > 2 && read[2] is { } stdin ? stdin.Value.ToByteArray() : []));
    }

    /// <summary>
    /// A placed job's run key once its node marked it running: what the placement said, less the record's copy (the
    /// node has marked it; nobody reads the copy again), and started. The prime counts the placements not started yet.
    /// </summary>
    public static Assignment Started(StoredJob scheduled) =>
        new() { NodeIncarnation = scheduled.Record.NodeIncarnation, MemoryBytes = scheduled.Job.Limits?.MemoryBytes ?? 0, Started = true };

    /// <summary>One job's fenced update, as the arguments of <see cref="TryUpdateAsync"/>.</summary>
    public sealed record Update(StoredJob Read, JobRecord Changed, IReadOnlyList<Compare> Guards, IReadOnlyList<Op> Ops);

    /// <summary>
    /// A queued job placed on <paramref name="node"/>'s <paramref name="incarnation"/>: its record scheduled there, its
    /// queue entry gone, its run key made carrying the record as placed (<see cref="StoredJob.AsPlaced"/>); only while
    /// the queue entry is there, the run key is not, and every one of <paramref name="guards"/> holds. Two ops besides
    /// the record's move.
    /// </summary>
    public static Update Placement(StoredJob queued, string node, long incarnation, params Compare[] guards)
    {
        var scheduled = Transitions.Scheduled(queued, node, incarnation);
        var run = new Assignment { NodeIncarnation = incarnation, MemoryBytes = queued.Job.Limits?.MemoryBytes ?? 0, Scheduled = scheduled.ToByteString() };
        // The run key must not exist: a node takes its create revision for the revision of the record it carries.
        return new Update(queued, scheduled, [.. guards, Cmp.CreateRevision(Keys.QueueEntry(queued.Id)) > 0, Cmp.CreateRevision(Keys.Run(node, queued.Id)) == 0],
            [Op.Delete(Keys.QueueEntry(queued.Id)), Op.Put(Keys.Run(node, queued.Id), run.ToByteString())]);
    }

    /// <summary>The ops of a <see cref="Placement"/> besides the record's move.</summary>
    public const int PlacementOps = 2;

    /// <summary>
    /// Several jobs' updates in one Txn, all or none: the revision they committed at when every record was still at the
    /// revision read and every guard held, null otherwise. A Txn has a fixed cost in etcd (its request, its raft entry,
    /// a copy of the write buffer for its compares) several times that of one job's keys; the prime places a round's
    /// jobs this way, and one by one only where such a Txn fails (docs/etcd-keys.md).
    /// </summary>
    public async Task<long?> TryUpdateAllAsync(IReadOnlyList<Update> updates, CancellationToken ct) =>
        (await TryUpdateReadingAsync(updates, [], ct))?.Revision;

    /// <summary>The most ops a record's move takes: its put, its two index keys deleted and put again, its retention key.</summary>
    private const int MostOpsPerMove = 6;

    /// <summary>How many updates of <paramref name="opsEach"/> ops besides the record's own fit in one Txn of <see cref="TryUpdateAllAsync"/>.</summary>
    public static int UpdatesPerTxn(int opsEach) => Math.Max(1, (MaxTxnOps - 1) / (MostOpsPerMove + opsEach));

    private Task<(KeyValue?[] Read, long Revision)?> TryUpdateReadingAsync(Update update, string[] keys, CancellationToken ct) =>
        TryUpdateReadingAsync([update], keys, ct);

    /// <summary>
    /// The updates in one Txn (a guard given for several of them is compared once), which also reads
    /// <paramref name="keys"/> after its writes (so it sees them): each key (null: absent), and the revision the Txn
    /// committed at; null when it did not commit.
    /// </summary>
    private async Task<(KeyValue?[] Read, long Revision)?> TryUpdateReadingAsync(IReadOnlyList<Update> updates, string[] keys, CancellationToken ct)
    {
        var compares = new List<Compare>();
        var guards = new HashSet<Compare>();
        var ops = new List<Op> { JobsChanged };
        foreach (var (read, changed, jobGuards, jobOps) in updates)
        {
            compares.Add(Cmp.ModRevision(Keys.Job(read.Id)) == read.ModRevision);
            compares.AddRange(jobGuards.Where(guards.Add));
            var value = changed.ToByteString();
            ops.Add(Op.Put(Keys.Job(read.Id), value));
            ops.AddRange(IndexOps(read.Record, changed, value));
            ops.AddRange(jobOps);
        }
        var firstRead = ops.Count;
        ops.AddRange(keys.Select(key => Op.Get(key)));
        var response = await etcd.TxnAsync(Txn.If([.. compares]).Then([.. ops]), ct);
        if (!response.Succeeded)
            return null;
        foreach (var update in updates)
            Metrics.DaemonMetrics.Moved(update.Read.Record, update.Changed); // counted where committed: once in the cluster
        return ([.. keys.Select((_, i) => response.Responses[firstRead + i].ResponseRange.Kvs is [var kv, ..] ? kv : null)], response.Header.Revision);
    }

    /// <summary>Deletes a finished job with everything that belongs to it, if unchanged since read.</summary>
    public async Task<bool> TryDeleteAsync(StoredJob read, IEnumerable<Compare> guards, CancellationToken ct)
    {
        var id = read.Id;
        var compares = new List<Compare> { Cmp.ModRevision(Keys.Job(id)) == read.ModRevision };
        compares.AddRange(guards);
        var ops = new List<Op>
        {
            Op.Delete(Keys.Job(id)),
            Op.Delete(Keys.Spec(id)),
            Op.Delete(Keys.Stdin(id)),
            Op.Delete(Keys.Tails(id), prefix: true),
            Op.Delete(Keys.UsageEntry(read.Job.Owner, id)),
            JobsChanged,
        };
        ops.AddRange(JobIndex.Listed(read.Record).Select(key => Op.Delete(key)));
        if (JobIndex.Expiry(read.Record) is { } expiry)
            ops.Add(Op.Delete(expiry));
        if (read.Job.Node.Length > 0)
            ops.Add(Op.Delete(Keys.Out(read.Job.Node, id)));
        var response = await etcd.TxnAsync(Txn.If([.. compares]).Then([.. ops]), ct);
        return response.Succeeded;
    }

    public async Task<byte[]> GetStdinAsync(string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Stdin(id), cancellationToken: ct);
        return response.Kvs.Count == 0 ? [] : response.Kvs[0].Value.ToByteArray();
    }

    public async Task<byte[]?> GetTailAsync(string id, bool stderr, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Tail(id, stderr), cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToByteArray();
    }

    /// <summary>How many of a user's jobs are queued now (an exact count, read from the owner index).</summary>
    public async Task<long> CountQueuedAsync(string owner, CancellationToken ct)
    {
        var response = await etcd.GetAsync(JobIndex.OwnerStatePrefix(owner, JobState.Queued), new GetOptions { Prefix = true, CountOnly = true }, ct);
        return response.Count;
    }

    /// <summary>
    /// The retention keys of jobs that finished before <paramref name="cutoff"/>, oldest first, at most
    /// <paramref name="limit"/>, each with its job while the job is the one the key was written for. Null: the key
    /// outlived it (a job deleted, or made again under its id since: that one must not be deleted for the old one's end).
    /// </summary>
    public async Task<IReadOnlyList<(string Key, long KeyRevision, StoredJob? Job)>> FinishedBeforeAsync(DateTimeOffset cutoff, int limit, CancellationToken ct)
    {
        var response = await etcd.GetAsync(JobIndex.Finished,
            new GetOptions { RangeEnd = ByteString.CopyFromUtf8(JobIndex.Finished + JobIndex.ExpiryTime(cutoff)), Limit = limit, KeysOnly = true }, ct);
        var keys = response.Kvs;
        var jobs = await GetManyAtAsync([.. keys.Select(kv => kv.KeyText[(kv.KeyText.IndexOf('-', JobIndex.Finished.Length) + 1)..])], revision: 0, ct);
        return [.. keys.Select((kv, i) => (kv.KeyText, kv.ModRevision, jobs[i] is { } job && JobIndex.Expiry(job.Record) == kv.KeyText ? job : null))];
    }


    /// <summary>The index keys to delete and (re)write when a record goes from <paramref name="before"/> to <paramref name="after"/>.</summary>
    private static IEnumerable<Op> IndexOps(JobRecord before, JobRecord after, ByteString value)
    {
        var next = JobIndex.Listed(after);
        foreach (var key in JobIndex.Listed(before).Except(next))
            yield return Op.Delete(key);
        foreach (var key in next)
            yield return Op.Put(key, value);
        if (JobIndex.Expiry(after) is { } expiry && JobIndex.Expiry(before) != expiry)
            yield return Op.Put(expiry, ByteString.Empty);
    }
}

/// <summary>A job about to be recorded: its record, spec, stdin and queue entry.</summary>
internal sealed record NewJob
{
    /// <summary>The most ops one creation takes: record, spec, stdin, queue entry, two index keys, usage entry.</summary>
    public const int MaxOps = 7;

    /// <summary>
    /// Sets the record's <see cref="JobRecord.ChargedBytes"/> to what the job will hold in etcd. The tasks of an array
    /// share one spec: <paramref name="specBytes"/> is its size, counted once for them all (up to 10,000 tasks of a
    /// spec of some 340 KB).
    /// </summary>
    public NewJob(JobRecord record, JobSpec spec, ByteString stdin, QueueEntry entry, long? specBytes = null)
    {
        (Record, Spec, Stdin, Entry) = (record, spec, stdin, entry);
        record.ChargedBytes = (specBytes ?? spec.CalculateSize()) + stdin.Length + 3L * record.CalculateSize();
    }

    public JobRecord Record { get; }

    public JobSpec Spec { get; }

    public ByteString Stdin { get; }

    public QueueEntry Entry { get; }

    /// <summary>
    /// What the job holds in etcd on its owner's account as it is made: its spec and stdin, its record and the
    /// record's two index copies. Its end adds its output tails (<see cref="Settlement"/>).
    /// </summary>
    public long StoredBytes => Record.ChargedBytes;

    public IEnumerable<Op> Ops()
    {
        var id = Record.Job.Id;
        var value = Record.ToByteString();
        yield return Op.Put(Keys.Job(id), value);
        yield return Op.Put(Keys.Spec(id), Spec.ToByteString());
        if (!Stdin.IsEmpty)
            yield return Op.Put(Keys.Stdin(id), Stdin);
        yield return Op.Put(Keys.QueueEntry(id), Entry.ToByteString());
        foreach (var key in JobIndex.Listed(Record))
            yield return Op.Put(key, value);
        yield return Op.Put(Keys.UsageEntry(Record.Job.Owner, id), Keys.UsageValue(StoredBytes));
    }
}

/// <summary>How a job's record and its spec make the whole job.</summary>
internal static class JobSpecs
{
    /// <summary>The first bytes of a command that a record keeps (listings show it; CheckJob shows it whole).</summary>
    public const int PreviewBytes = 256;

    public static void Fill(Job job, JobSpec spec)
    {
        job.Command = spec.Command;
        job.Env.Clear();
        job.Env.Add(spec.Env);
        job.Artifacts.Clear();
        job.Artifacts.Add(spec.Artifacts);
    }

    /// <summary>The command as a record keeps it: its first <see cref="PreviewBytes"/> bytes of UTF-8, and "…" when cut.</summary>
    public static string Preview(string command)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(command) <= PreviewBytes)
            return command;
        var length = 0;
        var bytes = 0;
        foreach (var rune in command.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > PreviewBytes - 3)
                break;
            bytes += rune.Utf8SequenceLength;
            length += rune.Utf16SequenceLength;
        }
        return command[..length] + "…";
    }
}
