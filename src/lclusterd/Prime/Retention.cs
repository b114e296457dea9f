using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Etcd.Api;

namespace Lcluster.Daemon.Prime;

/// <summary>Deletes finished jobs (record, stdin, tails, output) once the retention period has passed.</summary>
internal static class Retention
{
    public static async Task SweepAsync(NodeContext node, Compare fence, CancellationToken ct)
    {
        var cutoff = DateTimeOffset.UtcNow - node.Options.Retention;
        var deleted = 0;
        foreach (var job in await node.Store.ListAsync(ct))
        {
            if (!StoredJob.IsFinished(job.State) || job.Job.FinishedAt is null || job.Job.FinishedAt.ToDateTimeOffset() > cutoff)
                continue;
            if (await node.Store.TryDeleteAsync(job, [fence], ct))
                deleted++;
        }
        if (deleted > 0)
            node.Log.Info($"retention: deleted {deleted} job(s) finished before {cutoff:yyyy-MM-dd'T'HH:mm:ss'Z'}");
    }
}
