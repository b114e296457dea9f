using Lcluster.Daemon.Store;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Api;

/// <summary>Waits for a job record to reach a condition, watching its one key.</summary>
internal static class JobWatch
{
    /// <summary>The record once <paramref name="done"/> holds for it (null: the job was deleted).</summary>
    public static async Task<JobRecord?> UntilAsync(JobStore store, string id, Func<JobRecord?, bool> done, CancellationToken ct)
    {
        while (true)
        {
            var now = await store.GetAsync(id, ct);
            if (done(now?.Record))
                return now?.Record;
            try
            {
                await foreach (var change in store.WatchJobsAsync(now is null ? null : now.ModRevision + 1, id, ct))
                {
                    var record = change.Deleted ? null : change.Record;
                    if (done(record))
                        return record;
                }
            }
            catch (EtcdCompactedException)
            {
                // Read again from the current revision.
            }
        }
    }
}
