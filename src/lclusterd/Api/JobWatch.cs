using Lcluster.Daemon.Store;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Api;

/// <summary>Waits for a job record to reach a condition, with a watch on its one key.</summary>
internal static class JobWatch
{
    /// <summary>The record once <paramref name="done"/> holds for it (null: the job was deleted).</summary>
    public static async Task<StoredJob?> UntilAsync(JobStore store, string id, Func<StoredJob?, bool> done, CancellationToken ct)
    {
        while (true)
        {
            var response = await store.Etcd.GetAsync(Keys.Job(id), cancellationToken: ct);
            var job = response.Kvs.Count == 0 ? null : StoredJob.From(response.Kvs[0]);
            if (done(job))
                return job;
            try
            {
                await foreach (var batch in store.Etcd.WatchAsync(Keys.Job(id), new WatchOptions { StartRevision = response.Header.Revision + 1 }, ct))
                {
                    foreach (var e in batch.Events)
                    {
                        job = e.Type == Etcd.Api.Event.Types.EventType.Delete ? null : StoredJob.From(e.Kv);
                        if (done(job))
                            return job;
                    }
                }
            }
            catch (EtcdCompactedException)
            {
                // Read again from the current revision.
            }
        }
    }
}
