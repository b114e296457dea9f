using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>How many jobs are in each state, and how many wait in the queue, at one revision.</summary>
internal sealed record JobCounts(IReadOnlyDictionary<JobState, long> ByState, long Queued, long Revision);

internal sealed partial class JobStore
{
    /// <summary>One Txn of count-only reads: the state index of each state, and the queue; its cost does not grow with the jobs kept.</summary>
    public async Task<JobCounts> CountAsync(CancellationToken ct)
    {
        var states = JobIndex.States;
        var reads = states.Select(state => Op.Get(JobIndex.StatePrefix(state), new GetOptions { Prefix = true, CountOnly = true }))
            .Append(Op.Get(Keys.Queue, new GetOptions { Prefix = true, CountOnly = true }))
            .ToArray();
        var response = await etcd.TxnAsync(Txn.If().Then(reads), ct);
        var byState = states.Select((state, i) => (state, response.Responses[i].ResponseRange.Count)).ToDictionary(e => e.state, e => e.Count);
        return new JobCounts(byState, response.Responses[^1].ResponseRange.Count, response.Header.Revision);
    }
}
