using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>What a listing asks for: a state (Unspecified: any), an owner (null: any), a name (null: any).</summary>
internal sealed record JobFilter(JobState State, string? Owner, string? Name)
{
    /// <summary>What a page token is tied to: a token is refused with any other filter.</summary>
    public string Fingerprint => $"{(int)State}|{Owner}|{Name}";
}

/// <summary>One page: its jobs newest first, the token of the next page ("" on the last), the revision it was read at.</summary>
internal sealed record JobPage(IReadOnlyList<JobRecord> Jobs, string? LastOrder, long Revision);

internal sealed partial class JobStore
{
    /// <summary>How many index entries one page may look at when a name filter throws most of them away.</summary>
    private const int ScanBudgetPerPage = 10;

    /// <summary>
    /// A page of jobs, newest submission first, from the index keys (one range read per state,
    /// merged), so its cost depends on the page size, not on how many jobs are kept.
    /// <paramref name="after"/> is the order key the previous page ended at (null: the first page).
    /// </summary>
    public async Task<JobPage> ListAsync(JobFilter filter, int pageSize, string? after, CancellationToken ct)
    {
        var prefixes = (filter.State == JobState.Unspecified ? JobIndex.States : [filter.State])
            .Select(state => filter.Owner is { } owner ? JobIndex.OwnerStatePrefix(owner, state) : JobIndex.StatePrefix(state))
            .ToList();
        var jobs = new List<JobRecord>(pageSize);
        var budget = pageSize * ScanBudgetPerPage;
        string? last = null;
        long revision = 0;
        var more = false;
        await foreach (var (order, record, atRevision) in MergedAsync(prefixes, after, pageSize + 1, ct))
        {
            revision = atRevision;
            if (jobs.Count == pageSize || budget-- == 0)
            {
                more = true;
                break;
            }
            last = order;
            if (filter.Name is null || record.Job.Name == filter.Name)
                jobs.Add(record);
        }
        if (revision == 0)
            revision = await RevisionAsync(ct);
        return new JobPage(jobs, more ? last : null, revision);
    }

    /// <summary>
    /// The entries under several index prefixes as one stream in order-key order, read in
    /// batches, all at the revision of the first batch: each round reads every prefix from the
    /// cursor on, and gives out only what no prefix can still put before it.
    /// </summary>
    private async IAsyncEnumerable<(string Order, JobRecord Record, long Revision)> MergedAsync(
        IReadOnlyList<string> prefixes, string? after, int batch,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var cursor = after;
        long revision = 0;
        while (true)
        {
            var reads = prefixes.Select(prefix => Op.Get(cursor is null ? prefix : prefix + cursor + "\0",
                new GetOptions { RangeEnd = EtcdClient.PrefixEnd(prefix), Limit = batch, Revision = revision })).ToArray();
            var response = await etcd.TxnAsync(Txn.If().Then(reads), ct);
            if (revision == 0)
                revision = response.Header.Revision;
            var ranges = response.Responses.Select(r => r.ResponseRange).ToList();
            // Past the last key of a prefix that has more, another round may still find earlier entries.
            var safe = ranges.Select((r, i) => r.More && r.Kvs.Count > 0 ? r.Kvs[^1].KeyText[prefixes[i].Length..] : null)
                .Where(o => o is not null).Min(StringComparer.Ordinal);
            var round = ranges
                .SelectMany((r, i) => r.Kvs.Select(kv => (Order: kv.KeyText[prefixes[i].Length..], Kv: kv)))
                .Where(e => safe is null || string.CompareOrdinal(e.Order, safe) <= 0)
                .OrderBy(e => e.Order, StringComparer.Ordinal);
            foreach (var (order, kv) in round)
                yield return (order, JobRecord.Parser.ParseFrom(kv.Value), revision);
            if (safe is null)
                yield break;
            cursor = safe;
        }
    }
}
