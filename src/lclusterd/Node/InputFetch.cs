using Grpc.Core;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Runtime;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Brings a job's inputs into its workspace from where they wait: this node's own store, or the node
/// that took the upload, over the node channel (GetInputs). It never waits for long: a holder that is
/// not a live member fails at once, and a transfer that stalls for <see cref="StallTimeout"/> fails.
/// </summary>
internal sealed class InputFetch(string nodeName, InputStore inputs, JobStore store, NodeChannels channels)
{
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    public async Task<InputContents> PlaceAsync(string jobId, InputSet set, Workspace workspace, CancellationToken ct)
    {
        try
        {
            return set.Node == nodeName
                ? await PlaceLocalAsync(set, workspace, ct)
                : await PlaceRemoteAsync(jobId, set, workspace, ct);
        }
        catch (InvalidDataException e)
        {
            throw new JobFilesException($"its inputs cannot be placed in /work: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new JobFilesException($"its inputs cannot be placed in /work: {e.Message}" +
                (workspace.CapacityBytes is { } size ? $" (/work holds {Units.FormatBytes(size)}: the inputs and the disk limit)" : ""), e);
        }
    }

    private async Task<InputContents> PlaceLocalAsync(InputSet set, Workspace workspace, CancellationToken ct)
    {
        await using var archive = inputs.OpenArchive(set.Upload)
            ?? throw new JobFilesException($"its inputs (upload {set.Upload}) are no longer on node {nodeName}: they are deleted once the jobs that use them ended; add the job again with its --input");
        return await InputPlacement.PlaceAsync(archive, workspace, ct);
    }

    private async Task<InputContents> PlaceRemoteAsync(string jobId, InputSet set, Workspace workspace, CancellationToken ct)
    {
        IReadOnlyDictionary<string, NodeRecord> members;
        try
        {
            members = await store.MembersAsync(ct);
        }
        catch (EtcdException e)
        {
            throw new JobFilesException($"cannot tell where its inputs are: etcd did not answer ({e.Message})", e);
        }
        if (!members.TryGetValue(set.Node, out var holder))
            throw new JobFilesException($"its inputs were uploaded to node {set.Node}, which is not a live node of the cluster now; add the job again with its --input");
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(StallTimeout);
        try
        {
            var client = new Lclusterd.LclusterdClient(channels.For(holder.Address));
            using var call = client.GetInputs(new GetInputsRequest { Id = jobId }, cancellationToken: stall.Token);
            await using var archive = new FileChunkReader(call.ResponseStream, _ => stall.CancelAfter(StallTimeout));
            return await InputPlacement.PlaceAsync(archive, workspace, stall.Token);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("the node is stopping", e, ct);
        }
        catch (RpcException e) when (stall.IsCancellationRequested)
        {
            throw new JobFilesException($"could not fetch its inputs from node {set.Node} ({holder.Address}): nothing came for {StallTimeout.TotalSeconds:0}s", e);
        }
        catch (RpcException e)
        {
            var why = TransportFailure.IsTransport(e) ? TransportFailure.Cause(e) : e.Status.Detail;
            throw new JobFilesException($"could not fetch its inputs from node {set.Node} ({holder.Address}): {why}", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new JobFilesException($"could not fetch its inputs from node {set.Node} ({holder.Address}): nothing came for {StallTimeout.TotalSeconds:0}s", e);
        }
    }
}
