using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// ListJobs, WatchJobs and ListNodes of lcluster.v1.Lclusterd. A user who is not an admin
/// sees only their own jobs, whatever the filter asks for.
/// </summary>
internal sealed class ListingApi(NodeContext node, ListingCache cache)
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public async Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, ServerCallContext context)
    {
        if (request.PageSize is < 0 or > MaxPageSize)
            throw Statuses.Invalid($"page_size is {request.PageSize}: it must be from 0 (the default of {DefaultPageSize}) to {MaxPageSize}");
        if (!System.Enum.IsDefined(request.State))
            throw Statuses.Invalid($"state {(int)request.State} is not a job state");
        var name = RequestRules.Filter("name", request.Name);
        var filter = new JobFilter(request.State, OwnerFilter(Caller.Of(context), request.Owner), name.Length > 0 ? name : null);
        string? after = null;
        long firstRevision = 0;
        if (request.PageToken.Length > 0)
            (after, firstRevision) = PageToken.Decode(request.PageToken, filter.Fingerprint)
                    ?? throw Statuses.Invalid("page_token is not one this listing gave, or the filters changed since: list again from the first page");
        var size = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        var page = await JobsApi.Etcd(async () =>
        {
            var fromView = await cache.TryListAsync(filter, size, after, context.CancellationToken);
            Metrics.DaemonMetrics.Listed(fromView is not null);
            return fromView ?? await node.Store.ListAsync(filter, size, after, context.CancellationToken);
        });
        // Every page answers the first page's revision: a change to a job on an earlier page, made while the later
        // ones were read, is then after it, and a watch from it sees that change.
        var revision = firstRevision > 0 ? firstRevision : page.Revision;
        var response = new ListJobsResponse
        {
            NextPageToken = page.LastOrder is { } last ? PageToken.Encode(filter.Fingerprint, last, revision) : "",
            Revision = revision,
        };
        response.Jobs.AddRange(page.Jobs.Select(r => r.Job));
        return response;
    }

    public async Task WatchJobsAsync(WatchJobsRequest request, IServerStreamWriter<JobEvent> stream, ServerCallContext context) =>
        await RunWatchAsync(await CheckWatchAsync(request, context), stream, context);

    /// <summary>What a WatchJobs request asks for, once checked: from which revision, which job, whose jobs.</summary>
    public sealed record Watch(long StartRevision, string? Id, string? Owner, string? AfterId);

    /// <summary>
    /// Refuses a WatchJobs request the caller may not make, before a single event is sent: the HTTP API answers the
    /// refusal with its status instead of an error event in a stream it has begun.
    /// </summary>
    public async Task<Watch> CheckWatchAsync(WatchJobsRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var id = request.Id.Length > 0 ? RequestRules.JobId(request.Id) : null;
        if (request.StartRevision < 0)
            throw Statuses.Invalid($"start_revision is {request.StartRevision}: give a revision ListJobs or an event returned, or 0 for from now on");
        var owner = OwnerFilter(caller, request.Owner);
        string? afterId = null;
        if (request.AfterId.Length > 0)
        {
            if (request.StartRevision == 0)
                throw Statuses.Invalid("after_id goes with start_revision: the revision of the event it names");
            afterId = RequestRules.JobId(request.AfterId);
        }
        if (id is not null && !caller.IsAdmin)
        {
            // As CheckJob: another user's job is refused, not watched in silence (its events would all be filtered).
            var job = await JobsApi.Etcd(() => node.Store.GetAsync(id, context.CancellationToken)) ?? throw Statuses.NotFound(id);
            JobsApi.Authorize(caller, job.Job);
        }
        return new Watch(request.StartRevision, id, owner, afterId);
    }

    /// <summary>Sends every change a checked watch asks for, until the call ends.</summary>
    public async Task RunWatchAsync(Watch watch, IServerStreamWriter<JobEvent> stream, ServerCallContext context)
    {
        try
        {
            await foreach (var change in node.Store.WatchJobsAsync(watch.StartRevision > 0 ? watch.StartRevision : null, watch.Id, watch.AfterId, context.CancellationToken))
            {
                if (watch.Owner is not null && change.Record.Job.Owner != watch.Owner)
                    continue;
                await stream.WriteAsync(new JobEvent { Revision = change.Revision, Job = change.Record.Job, Deleted = change.Deleted }, context.CancellationToken);
            }
        }
        catch (EtcdCompactedException)
        {
            throw new RpcException(new Status(StatusCode.OutOfRange,
                $"revision {watch.StartRevision} is older than the cluster keeps: list the jobs again, then watch from the revision the listing gives + 1"));
        }
        catch (EtcdException e)
        {
            // Unreachable, or the watch ended by etcd (a cancel it sends, a stream it closed): the client resumes.
            throw Statuses.Unavailable($"etcd's watch broke off on this node, watch again later from the last revision seen + 1 ({e.Message})");
        }
    }

    public async Task<ListNodesResponse> ListNodesAsync(ListNodesRequest request, ServerCallContext context)
    {
        _ = Caller.Of(context); // anyone the node knows may see its nodes; nobody unknown may
        var ct = context.CancellationToken;
        var cluster = await JobsApi.Etcd(() => node.Store.ReadClusterAsync(withQueue: false, ct));
        var prime = await JobsApi.Etcd(() => node.Store.PrimeAsync(ct));
        var load = NodeLoad.Of(cluster.Members, cluster.Runs);
        var response = new ListNodesResponse();
        foreach (var member in cluster.Members)
        {
            var held = load.GetValueOrDefault(member.Name);
            response.Nodes.Add(new V1.Node
            {
                Name = member.Name,
                Address = member.Address,
                Prime = member.Name == prime,
                Slots = member.Slots,
                SlotsUsed = held.Slots,
                MemoryBytes = member.MemoryBytes,
                MemoryReservedBytes = held.MemoryBytes,
                MaxLimits = member.MaxLimits,
                StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(member.StartedAtUnixMs)),
            });
        }
        return response;
    }

    /// <summary>Whose jobs a listing may show: an admin's choice, or always the caller's own.</summary>
    private static string? OwnerFilter(Caller caller, string asked)
    {
        RequestRules.Filter("owner", asked);
        if (caller.IsAdmin)
            return asked.Length > 0 ? asked : null;
        if (asked.Length > 0 && asked != caller.User)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"only an admin may list another user's jobs; you are {caller.User}"));
        return caller.User;
    }
}
