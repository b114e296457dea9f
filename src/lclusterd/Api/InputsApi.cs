using Google.Protobuf;
using Grpc.Core;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// UploadInputs and GetInputs (docs/files.md): a job's inputs come to the node that takes its AddJob
/// as one tar archive, streamed to disk and kept only when whole, under the node's --max-input, and
/// checked; the node that runs the job fetches them from there.
/// </summary>
internal sealed class InputsApi(NodeContext node)
{
    public async Task<UploadInputsResponse> UploadAsync(IAsyncStreamReader<FileChunk> chunks, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var ct = context.CancellationToken;
        try
        {
            return await ReceiveAsync(chunks, caller, ct);
        }
        catch (IOException e) when (!ct.IsCancellationRequested)
        {
            throw Statuses.Unavailable($"node {node.Name} cannot store the inputs ({e.Message}); try again later, or through another node");
        }
    }

    private async Task<UploadInputsResponse> ReceiveAsync(IAsyncStreamReader<FileChunk> chunks, Caller caller, CancellationToken ct)
    {
        var cap = node.Options.MaxInputBytes;
        var quota = caller.IsAdmin ? (long?)null : node.Options.Quotas.InputBytes;
        await using var upload = node.Files.Inputs.Begin(caller.User, quota);
        while (await chunks.MoveNext(ct))
        {
            var data = chunks.Current.Data;
            if (upload.Bytes + data.Length > cap)
            {
                node.Log.Info($"inputs from {PrintableText.Escape(caller.User)} refused: over --max-input {Units.FormatBytes(cap)}");
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"the inputs are over this node's limit of {Units.FormatBytes(cap)} (--max-input; the archive counts, headers included): " +
                    "send fewer or smaller files, or ask for a larger --max-input"));
            }
            if (!await upload.TryWriteAsync(data.Memory, ct))
            {
                var held = node.Files.Inputs.Held(caller.User) - upload.Bytes;
                node.Log.Info($"inputs from {PrintableText.Escape(caller.User)} refused: over --user-max-inputs {Units.FormatBytes(quota!.Value)}");
                throw Statuses.Exhausted($"{caller.User}'s other inputs on node {node.Name} hold {Units.FormatBytes(held)}; these would pass the quota of " +
                    $"{Units.FormatBytes(quota.Value)} per user (--user-max-inputs; inputs are deleted once the jobs that use them are)");
            }
        }
        UploadRecord kept;
        try
        {
            kept = await upload.KeepAsync(ct);
        }
        catch (InvalidDataException e)
        {
            node.Log.Info($"inputs from {PrintableText.Escape(caller.User)} refused: {e.Message}");
            throw Statuses.Invalid(e.Message);
        }
        node.Log.Info($"inputs {upload.Id} uploaded by {PrintableText.Escape(caller.User)}: {kept.Files} file(s), {Units.FormatBytes(kept.ContentBytes)}");
        return new UploadInputsResponse { Id = upload.Id, ArchiveBytes = kept.ArchiveBytes, ContentBytes = kept.ContentBytes, Files = kept.Files };
    }

    public async Task GetInputsAsync(GetInputsRequest request, IServerStreamWriter<FileChunk> writer, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var ct = context.CancellationToken;
        var caller = Caller.Of(context);
        var job = (await JobsApi.Etcd(() => node.Store.GetAsync(id, ct)))?.Job ?? throw Statuses.NotFound(id);
        JobsApi.Authorize(caller, job);
        var spec = await JobsApi.Etcd(() => node.Store.GetSpecAsync(id, ct)) ?? throw Statuses.NotFound(id); // removed meanwhile
        if (spec.Inputs is not { } set)
            throw Statuses.FailedPrecondition($"job {id} has no inputs");
        if (set.Node != node.Name)
            throw Statuses.FailedPrecondition($"the inputs of job {id} are on node {set.Node}, not on {node.Name}");
        await using var archive = node.Files.Inputs.OpenArchive(set.Upload)
            ?? throw Statuses.FailedPrecondition($"the inputs of job {id} are no longer on node {node.Name}: they are deleted once the jobs that use them ended");
        await SendAsync(archive, writer, ct);
    }

    /// <summary>A file as FileChunks, one chunk in memory at a time.</summary>
    public static async Task SendAsync(Stream file, IServerStreamWriter<FileChunk> writer, CancellationToken ct)
    {
        var buffer = new byte[FilePaths.ChunkBytes];
        int n;
        while ((n = await file.ReadAsync(buffer, ct)) > 0)
            await writer.WriteAsync(new FileChunk { Data = ByteString.CopyFrom(buffer, 0, n) }, ct);
    }
}
