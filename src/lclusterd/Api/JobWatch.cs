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
            // Watched from the revision of the read, not the record's own: etcd's history before that may be compacted
            // away (the prime compacts it), and a watch from there would fail at once, again and again.
            var (now, revision) = await store.GetAtAsync(id, ct);
            if (done(now?.Record))
                return now?.Record;
            try
            {
                await foreach (var change in store.WatchJobsAsync(revision + 1, id, afterId: null, ct))
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
