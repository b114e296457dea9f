using Lcluster.Etcd;
using Lcluster.Shared;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Deletes the inputs this node keeps once nothing can need them (docs/files.md): when every job that
/// names them has ended or is gone, or when no AddJob named them within <see cref="Unclaimed"/>.
/// Looks every <see cref="Every"/>; a job the upload names but etcd does not have counts as gone only
/// <see cref="ClaimGrace"/> after the last AddJob named it (that AddJob may still be writing it).
/// </summary>
internal sealed class InputSweep(NodeContext node)
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Unclaimed = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan ClaimGrace = TimeSpan.FromMinutes(1);

    public async Task RunAsync(CancellationToken ct)
    {
        var warned = false;
        while (true)
        {
            await Task.Delay(Every, ct);
            try
            {
                await SweepAsync(ct);
                warned = false;
            }
            catch (Exception e) when (e is EtcdException or IOException or UnauthorizedAccessException)
            {
                // Next round: an upload kept a little longer harms nothing.
                if (!warned)
                    node.Log.Warn($"node {node.Name}: cannot look at its kept inputs now ({e.Message}); trying again every {Every.TotalSeconds:0}s");
                warned = true;
            }
        }
    }

    public async Task SweepAsync(CancellationToken ct)
    {
        var inputs = node.Files.Inputs;
        foreach (var id in inputs.Ids())
        {
            if (inputs.Read(id) is not { } record)
                continue;
            var now = DateTimeOffset.UtcNow;
            string? why = null;
            if (record.Jobs.Count == 0)
            {
                if (now - DateTimeOffset.FromUnixTimeMilliseconds(record.CreatedUnixMs) > Unclaimed)
                    why = $"no job named them within {Unclaimed.TotalMinutes:0} minutes";
            }
            else
            {
                var jobs = await node.Store.GetManyAsync(record.Jobs, ct);
                var allThere = jobs.Count == record.Jobs.Count;
                var settled = now - DateTimeOffset.FromUnixTimeMilliseconds(record.ClaimedUnixMs) > ClaimGrace;
                if (jobs.All(j => JobStates.IsFinished(j.State)) && (allThere || settled))
                {
                    why = $"the {record.Jobs.Count} job(s) that use them ended";
                }
                else
                {
                    // Jobs that ended (or were deleted, once no AddJob can still be writing them) no longer hold the
                    // upload: the record forgets them, so that one job kept alive does not let it name every job that
                    // ever used it, read again at each sweep.
                    var present = jobs.ToDictionary(j => j.Id, j => j.State, StringComparer.Ordinal);
                    var ended = record.Jobs.Where(j => present.TryGetValue(j, out var state) ? JobStates.IsFinished(state) : settled).ToList();
                    if (ended.Count > 0)
                        inputs.ForgetUnlessClaimed(id, record, ended);
                }
            }
            if (why is not null && inputs.DeleteUnlessClaimed(id, record))
                node.Log.Info($"inputs {id} deleted from {node.Name}: {why}");
        }
    }
}
