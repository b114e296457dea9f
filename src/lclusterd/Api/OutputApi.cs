using Lcluster.Shared;
using Google.Protobuf;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Grpc.Core;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// GetOutput: a job's stdout or stderr from whichever node can give it — the
/// files here if this node ran it, the node that ran it (proxied) otherwise,
/// and the last 64 KiB kept in etcd when that node is gone. With follow, the
/// stream waits for the job to be placed and ends when the job ends.
/// </summary>
internal sealed class OutputApi(NodeContext node, NodeAgent agent, NodeChannels channels)
{
    private const int ChunkBytes = 64 * 1024;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public async Task GetOutputAsync(GetOutputRequest request, IServerStreamWriter<OutputChunk> writer, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        if (!Enum.IsDefined(request.Stream))
            throw Statuses.Invalid($"stream {(int)request.Stream} is not stdout (0) or stderr (1)");
        var stderr = request.Stream == OutputStream.Stderr;
        var ct = context.CancellationToken;
        var caller = Caller.Of(context);
        var job = (await JobsApi.Etcd(() => node.Store.GetAsync(id, ct)))?.Job ?? throw Statuses.NotFound(id);
        JobsApi.Authorize(caller, job);
        if (request.Follow && job.Node.Length == 0 && !JobStates.IsFinished(job.State))
        {
            var placed = await JobsApi.Etcd(() => JobWatch.UntilAsync(node.Store, id, j => j is null || j.Job.Node.Length > 0 || JobStates.IsFinished(j.Job.State), ct));
            if (placed is null)
                return;
            job = placed.Job;
        }
        if (job.Node.Length == 0)
        {
            await SendTailAsync(id, stderr, writer, ct);
            return;
        }
        if (job.Node == node.Name)
        {
            if (node.Output.Exists(id) || !JobStates.IsFinished(job.State))
                await StreamLocalAsync(id, stderr, request.Follow, writer, ct);
            else
                await SendTailAsync(id, stderr, writer, ct);
            return;
        }
        await ProxyAsync(job, request, writer, ct);
    }

    private async Task StreamLocalAsync(string id, bool stderr, bool follow, IServerStreamWriter<OutputChunk> writer, CancellationToken ct)
    {
        var path = node.Output.StreamPath(id, stderr);
        long offset = 0;
        var buffer = new byte[ChunkBytes];
        var lastCheck = DateTimeOffset.MinValue;
        while (true)
        {
            var running = agent.WhenDone(id);
            offset = await SendFromAsync(path, offset, buffer, writer, ct);
            if (!follow)
                return;
            if (running is not null)
            {
                await Task.WhenAny(running, Task.Delay(Poll, ct));
                if (running.IsCompleted)
                {
                    await SendFromAsync(path, offset, buffer, writer, ct);
                    return;
                }
                continue;
            }
            // Not (or no longer) running here: it ends when its record says so.
            if (DateTimeOffset.UtcNow - lastCheck > TimeSpan.FromMilliseconds(250))
            {
                lastCheck = DateTimeOffset.UtcNow;
                var job = await JobsApi.Etcd(() => node.Store.GetAsync(id, ct));
                if (job is null || JobStates.IsFinished(job.State) || job.Job.Node != node.Name)
                {
                    await SendFromAsync(path, offset, buffer, writer, ct);
                    return;
                }
            }
            await Task.Delay(Poll, ct);
        }
    }

    /// <summary>Sends what the file holds past <paramref name="offset"/>; returns the new offset.</summary>
    private static async Task<long> SendFromAsync(string path, long offset, byte[] buffer, IServerStreamWriter<OutputChunk> writer, CancellationToken ct)
    {
        await using var file = TryOpen(path);
        if (file is null)
            return offset;
        file.Position = offset;
        int n;
        while ((n = await file.ReadAsync(buffer, ct)) > 0)
        {
            await writer.WriteAsync(new OutputChunk { Data = ByteString.CopyFrom(buffer, 0, n) }, ct);
            offset += n;
        }
        return offset;
    }

    /// <summary>The output file, or null when there is none: not written yet, or deleted with its job meanwhile.</summary>
    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private async Task SendTailAsync(string id, bool stderr, IServerStreamWriter<OutputChunk> writer, CancellationToken ct)
    {
        var tail = await JobsApi.Etcd(() => node.Store.GetTailAsync(id, stderr, ct));
        if (tail is { Length: > 0 })
            await writer.WriteAsync(new OutputChunk { Data = ByteString.CopyFrom(tail) }, ct);
    }

    /// <summary>Relays the stream from the node that ran the job; falls back to the kept tail if that node is unreachable.</summary>
    private async Task ProxyAsync(Job job, GetOutputRequest request, IServerStreamWriter<OutputChunk> writer, CancellationToken ct)
    {
        var members = await JobsApi.Etcd(() => node.Store.MembersAsync(ct));
        if (!members.TryGetValue(job.Node, out var holder))
        {
            await SendTailAsync(job.Id, request.Stream == OutputStream.Stderr, writer, ct);
            return;
        }
        var sent = false;
        try
        {
            var client = new Lclusterd.LclusterdClient(channels.For(holder.Address));
            using var call = client.GetOutput(request, cancellationToken: ct);
            while (await call.ResponseStream.MoveNext(ct))
            {
                await writer.WriteAsync(call.ResponseStream.Current, ct);
                sent = true;
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !sent)
        {
            if (!JobStates.IsFinished(job.State))
                throw Statuses.Unavailable($"the output of job {job.Id} is on node {job.Node} ({holder.Address}), which cannot be reached: {Shared.TransportFailure.Cause(e)}");
            await SendTailAsync(job.Id, request.Stream == OutputStream.Stderr, writer, ct);
        }
    }
}
