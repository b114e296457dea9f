using Grpc.Core;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// GetArtifacts (docs/files.md): the archive of what a finished job left in /work, from the node that
/// ran it — read here when that is this node, relayed over the node channel otherwise. The caller's
/// right to the job is checked here, before anything is relayed.
/// </summary>
internal sealed class ArtifactsApi(NodeContext node, NodeChannels channels)
{
    public async Task GetArtifactsAsync(GetArtifactsRequest request, IServerStreamWriter<FileChunk> writer, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var ct = context.CancellationToken;
        var caller = Caller.Of(context);
        var job = (await JobsApi.Etcd(() => node.Store.GetAsync(id, ct)))?.Job ?? throw Statuses.NotFound(id);
        JobsApi.Authorize(caller, job);
        if (!JobStates.IsFinished(job.State))
            throw Statuses.FailedPrecondition($"job {id} is {JobStates.Name(job.State)}: its artifacts are collected when it ends; download them then (--wait waits for the end)");
        if (job.Node == node.Name)
            await SendLocalAsync(job, writer, ct);
        else if (job.Node.Length == 0)
            throw Statuses.FailedPrecondition($"job {id} never ran ({JobStates.Name(job.State)}): it has no artifacts");
        else
            await RelayAsync(job, request, writer, ct);
    }

    private async Task SendLocalAsync(Job job, IServerStreamWriter<FileChunk> writer, CancellationToken ct)
    {
        FileStream archive;
        try
        {
            archive = new FileStream(node.Output.ArtifactsPath(job.Id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            var spec = await JobsApi.Etcd(() => node.Store.GetSpecAsync(job.Id, ct)) ?? throw Statuses.NotFound(job.Id); // removed meanwhile
            throw Statuses.FailedPrecondition(spec.Artifacts.Count == 0
                ? $"job {job.Id} asked for no artifacts (--artifact)"
                : $"job {job.Id} left no artifacts on node {node.Name}: it ended {JobStates.Name(job.State)} ({job.Reason})");
        }
        await using (archive)
            await InputsApi.SendAsync(archive, writer, ct);
    }

    private async Task RelayAsync(Job job, GetArtifactsRequest request, IServerStreamWriter<FileChunk> writer, CancellationToken ct)
    {
        var members = await JobsApi.Etcd(() => node.Store.MembersAsync(ct));
        if (!members.TryGetValue(job.Node, out var holder))
            throw Statuses.Unavailable($"the artifacts of job {job.Id} are kept on node {job.Node}, which is not live now; they can be downloaded again when it is back");
        var sent = false;
        try
        {
            var client = new Lclusterd.LclusterdClient(channels.For(holder.Address));
            using var call = client.GetArtifacts(request, cancellationToken: ct);
            while (await call.ResponseStream.MoveNext(ct))
            {
                await writer.WriteAsync(call.ResponseStream.Current, ct);
                sent = true;
            }
        }
        catch (RpcException e) when (TransportFailure.IsTransport(e) && !ct.IsCancellationRequested)
        {
            throw Statuses.Unavailable($"the artifacts of job {job.Id} are on node {job.Node} ({holder.Address}), which {(sent ? "stopped answering" : "cannot be reached")}: {TransportFailure.Cause(e)}");
        }
    }
}
