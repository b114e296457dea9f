using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Grpc.Core;
using Lcluster.V1;
using SortOrder = Lcluster.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = Lcluster.Etcd.Api.RangeRequest.Types.SortTarget;

namespace Lcluster.Daemon.Api;

/// <summary>
/// AddJob, CheckJob, RemoveJob, ListJobs and ListNodes of lcluster.v1.Lclusterd:
/// validation at the edge, then reads and fenced writes in etcd. Any node
/// answers any call.
/// </summary>
internal sealed class JobsApi(NodeContext node, LimitPolicy policy)
{
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);

    public async Task<AddJobResponse> AddJobAsync(AddJobRequest request, ServerCallContext context)
    {
        var valid = RequestRules.ValidateAddJob(request, policy);
        var id = Guid.NewGuid().ToString("D");
        var job = new Job
        {
            Id = id,
            Name = valid.Name,
            Command = valid.Command,
            State = JobState.Queued,
            Reason = "waiting to be placed",
            SubmittedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Limits = valid.Limits.ToProto(),
            Retries = valid.Retries,
            Priority = valid.Priority,
        };
        foreach (var (key, value) in valid.Env)
            job.Env[key] = value;
        var record = new JobRecord { Job = job, HasStdin = valid.Stdin.Length > 0 };
        var entry = new QueueEntry { Priority = valid.Priority, Limits = job.Limits };
        if (!await Etcd(() => node.Store.CreateAsync(record, entry, valid.Stdin, context.CancellationToken)))
            throw Statuses.Internal("a job with a freshly generated id already exists; try again");
        node.Log.Info($"job {id} queued ({(valid.Name.Length > 0 ? valid.Name + ": " : "")}{Shorten(valid.Command)})");
        return new AddJobResponse { Id = id };
    }

    public async Task<Job> CheckJobAsync(CheckJobRequest request, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var job = await Etcd(() => node.Store.GetAsync(id, context.CancellationToken)) ?? throw NotFound(id);
        return job.ToPublic();
    }

    public async Task<RemoveJobResponse> RemoveJobAsync(RemoveJobRequest request, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var ct = context.CancellationToken;
        while (true)
        {
            var job = await Etcd(() => node.Store.GetAsync(id, ct)) ?? throw NotFound(id);
            switch (job.State)
            {
                case JobState.Queued:
                    var cancelled = Transitions.CancelledBeforeStart(job, DateTimeOffset.UtcNow);
                    if (await Etcd(() => node.Store.TryUpdateAsync(job, cancelled, [], [Op.Delete(Keys.QueueEntry(id))], ct)))
                    {
                        node.Log.Info($"job {id} cancelled while queued");
                        return new RemoveJobResponse { State = JobState.Cancelled };
                    }
                    break;
                case JobState.Scheduled or JobState.Running:
                    if (job.Record.CancelRequested || await RequestCancelAsync(job, ct))
                        return new RemoveJobResponse { State = await WaitForEndAsync(id, ct) };
                    break;
                default:
                    if (await Etcd(() => node.Store.TryDeleteAsync(job, [], ct)))
                    {
                        node.Log.Info($"job {id} deleted ({Settle.Name(job.State)})");
                        return new RemoveJobResponse { State = job.State, Deleted = true };
                    }
                    break;
            }
            // It changed under us (placed, started, settled): look again in a moment.
            await Task.Delay(20, ct);
        }
    }

    /// <summary>Marks the job and its run key cancelled; the node running it kills the container and ends the job.</summary>
    private async Task<bool> RequestCancelAsync(StoredJob job, CancellationToken ct)
    {
        var runKey = Keys.Run(job.Job.Node, job.Id);
        var run = await Etcd(() => node.Store.Etcd.GetAsync(runKey, cancellationToken: ct));
        if (run.Kvs.Count == 0)
            return false; // Being settled right now: read again.
        var assignment = Store.Assignment.Parser.ParseFrom(run.Kvs[0].Value);
        assignment.Cancel = true;
        var requested = await Etcd(() => node.Store.TryUpdateAsync(job, Transitions.CancelRequested(job),
            [Cmp.ModRevision(runKey) == run.Kvs[0].ModRevision],
            [Op.Put(runKey, Google.Protobuf.MessageExtensions.ToByteString(assignment))], ct));
        if (requested)
            node.Log.Info($"job {job.Id}: cancel requested ({Settle.Name(job.State)} on {job.Job.Node})");
        return requested;
    }

    private async Task<JobState> WaitForEndAsync(string id, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(CancelWait);
        try
        {
            return await JobWatch.UntilAsync(node.Store, id, j => j is null || StoredJob.IsFinished(j.State), wait.Token) is { } done
                ? done.State
                : JobState.Cancelled;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The node has not confirmed yet (it may be down; the prime then settles the job as cancelled).
            return (await Etcd(() => node.Store.GetAsync(id, ct)))?.State ?? JobState.Cancelled;
        }
    }

    public async Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0)
            throw Statuses.Invalid($"limit is {request.Limit}: it must be 0 (the default of 1000) or more");
        if (!System.Enum.IsDefined(request.State))
            throw Statuses.Invalid($"state {(int)request.State} is not a job state");
        var limit = request.Limit == 0 ? 1000 : request.Limit;
        var jobs = await Etcd(() => node.Store.ListAsync(context.CancellationToken));
        var response = new ListJobsResponse();
        response.Jobs.Add(jobs
            .Where(j => request.State == JobState.Unspecified || j.State == request.State)
            .OrderByDescending(j => j.CreateRevision)
            .Take(limit)
            .Select(j => j.ToPublic()));
        return response;
    }

    public async Task<ListNodesResponse> ListNodesAsync(ListNodesRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var snapshot = await Etcd(() => node.Store.Etcd.TxnAsync(Txn.If().Then(
            Op.Get(Keys.Members, new GetOptions { Prefix = true }),
            Op.Get(Keys.Nodes, new GetOptions { Prefix = true }),
            Op.Get(Keys.Prime + "/", new GetOptions { Prefix = true, SortTarget = SortTarget.Create, SortOrder = SortOrder.Ascend, Limit = 1 })), ct));
        var runs = JobStore.ParseRuns(snapshot.Responses[1].ResponseRange.Kvs);
        var prime = snapshot.Responses[2].ResponseRange.Kvs.FirstOrDefault()?.ValueText;
        var response = new ListNodesResponse();
        foreach (var kv in snapshot.Responses[0].ResponseRange.Kvs)
        {
            var member = NodeRecord.Parser.ParseFrom(kv.Value);
            var mine = runs.Where(r => r.Node == member.Name && r.Assignment.NodeIncarnation == member.Incarnation).ToList();
            response.Nodes.Add(new V1.Node
            {
                Name = member.Name,
                Address = member.Address,
                Prime = member.Name == prime,
                Slots = member.Slots,
                SlotsUsed = mine.Count,
                MemoryBytes = member.MemoryBytes,
                MemoryReservedBytes = mine.Sum(r => r.Assignment.MemoryBytes),
                MaxLimits = member.MaxLimits,
                StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(member.StartedAtUnixMs)),
            });
        }
        return response;
    }

    private static RpcException NotFound(string id) => Statuses.NotFound(id);

    private static string Shorten(string command) => command.Length <= 60 ? command.ReplaceLineEndings(" ") : command[..59].ReplaceLineEndings(" ") + "…";

    /// <summary>Runs an etcd call, turning "etcd unreachable" into the UNAVAILABLE status clients expect.</summary>
    public static async Task<T> Etcd<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (EtcdUnavailableException e)
        {
            throw Statuses.Unavailable($"etcd is unreachable from this node, try again later ({e.Message})");
        }
        catch (EtcdException e)
        {
            throw Statuses.Unavailable($"etcd did not confirm the request; check the job before trying again ({e.Message})");
        }
    }
}
