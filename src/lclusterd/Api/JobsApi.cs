using System.Diagnostics;
using Grpc.Core;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Api;

/// <summary>
/// AddJob, CheckJob and RemoveJob of lcluster.v1.Lclusterd: validation at the edge, the
/// caller's right to the job, then reads and fenced writes through the job store. Any node
/// answers any call.
/// </summary>
internal sealed class JobsApi(NodeContext node, LimitPolicy policy, UsageView usage)
{
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ChangedUnderUs = TimeSpan.FromMilliseconds(20);

    public async Task<AddJobResponse> AddJobAsync(AddJobRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var valid = RequestRules.ValidateAddJob(request, policy);
        if (valid.InputsId is { } upload)
            valid = valid with { Inputs = JobInputs.Find(node, upload, caller) };
        var jobs = NewJobs.Build(valid, caller, valid.RequestId ?? Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
        var (admission, fresh) = caller.IsAdmin ? (null, jobs) : await AdmitAsync(caller.User, jobs, valid.RequestId is not null, context.CancellationToken);
        IReadOnlyList<string> created = [];
        try
        {
            if (valid.Inputs is { } inputs)
                JobInputs.Claim(node, inputs, jobs);
            if (fresh.Count > 0)
                created = await Etcd(() => node.Store.CreateAsync(fresh, context.CancellationToken));
        }
        catch when (admission is not null)
        {
            usage.Release(admission);
            throw;
        }
        if (admission is not null)
            usage.Created(admission, created);
        var first = jobs[0].Record.Job;
        var what = $"{(first.Name.Length > 0 ? first.Name + ": " : "")}{PrintableText.Shorten(valid.Command)}";
        if (valid.Array is { } array)
            node.Log.Info($"array {first.Id} of {jobs.Count} task(s) [{array.First}-{array.Last}] queued by {PrintableText.Escape(caller.User)} ({what}); {created.Count} new");
        else if (created.Count > 0)
            node.Log.Info($"job {first.Id} queued by {PrintableText.Escape(caller.User)} ({what})");
        var response = new AddJobResponse { Id = first.Id };
        response.Ids.AddRange(jobs.Select(j => j.Record.Job.Id));
        return response;
    }

    /// <summary>
    /// <see cref="AdmitNewAsync"/>, for a request that may have been sent before: when it does not fit and names
    /// jobs by its request id, the jobs it made already (its answer was lost, and the client sent it again) count once,
    /// as what they hold, not a second time as new. Returns the charge and the jobs it admits, which are all the
    /// request creates: a job made before and deleted since is not made again uncharged.
    /// </summary>
    private async Task<(QuotaLedger.Admission? Charge, IReadOnlyList<NewJob> Fresh)> AdmitAsync(string user, IReadOnlyList<NewJob> jobs, bool sentBefore, CancellationToken ct)
    {
        try
        {
            return (await AdmitNewAsync(user, jobs, ct), jobs);
        }
        catch (RpcException e) when (sentBefore && e.StatusCode == StatusCode.ResourceExhausted)
        {
            var made = (await Etcd(() => node.Store.GetManyAsync([.. jobs.Select(j => j.Record.Job.Id)], ct))).Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            if (made.Count == 0)
                throw;
            var fresh = jobs.Where(j => !made.Contains(j.Record.Job.Id)).ToList();
            return fresh.Count == 0 ? (null, fresh) : (await AdmitNewAsync(user, fresh, ct), fresh);
        }
    }

    /// <summary>
    /// A user's queued jobs and the bytes their jobs hold in etcd stay within the node's quotas (admins have none):
    /// over either, the whole request is refused with RESOURCE_EXHAUSTED and nothing is written. The request's jobs
    /// are charged first (<see cref="UsageView"/>), so the requests this node admits at the same moment count each
    /// other in both checks: the bytes of those not yet in the usage ledger, and the jobs not yet created beside the
    /// count read from etcd after the charge. The caller ends the charge.
    /// </summary>
    private async Task<QuotaLedger.Admission> AdmitNewAsync(string user, IReadOnlyList<NewJob> jobs, CancellationToken ct)
    {
        var quotas = node.Options.Quotas;
        var admission = await Etcd(() => usage.AdmitAsync(user, [.. jobs.Select(j => (j.Record.Job.Id, j.StoredBytes))], quotas.StoredBytes, ct));
        if (!admission.Fits)
            throw Statuses.Exhausted($"{user}'s jobs hold {Units.FormatBytes(admission.Held)} in etcd (commands, environment, stdin, records, output); {Units.FormatBytes(admission.Adding)} more " +
                $"would pass the quota of {Units.FormatBytes(quotas.StoredBytes)} per user (finished jobs give theirs back when they are removed after retention)");
        try
        {
            // Jobs charged and not yet created may be in the count already (created since the charge): counted twice
            // at worst, never missed.
            var queued = await Etcd(() => node.Store.CountQueuedAsync(user, ct));
            var others = admission.Submitting - jobs.Count;
            if (queued + admission.Submitting > quotas.QueuedJobs)
                throw Statuses.Exhausted($"{user} has {queued} job(s) queued{(others > 0 ? $" and {others} being submitted" : "")}; " +
                    $"{jobs.Count} more would pass the quota of {quotas.QueuedJobs} queued jobs per user");
            return admission;
        }
        catch
        {
            usage.Release(admission);
            throw;
        }
    }

    public async Task<Job> CheckJobAsync(CheckJobRequest request, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var caller = Caller.Of(context); // before the lookup: a caller nobody knows learns nothing, not even that the job exists
        var job = await Etcd(() => node.Store.GetWholeAsync(id, context.CancellationToken)) ?? throw Statuses.NotFound(id);
        Authorize(caller, job);
        return job;
    }

    public async Task<RemoveJobResponse> RemoveJobAsync(RemoveJobRequest request, ServerCallContext context)
    {
        var id = RequestRules.JobId(request.Id);
        var caller = Caller.Of(context);
        var ct = context.CancellationToken;
        var since = Stopwatch.GetTimestamp();
        while (true)
        {
            var job = await Etcd(() => node.Store.GetAsync(id, ct)) ?? throw Statuses.NotFound(id);
            Authorize(caller, job.Job);
            switch (job.State)
            {
                case JobState.Queued:
                    var cancelled = Transitions.CancelledBeforeStart(job, DateTimeOffset.UtcNow);
                    if (await Etcd(() => node.Store.TryUpdateAsync(job, cancelled, [], [Op.Delete(Keys.QueueEntry(id))], ct)))
                    {
                        node.Log.Info($"job {id} cancelled while queued, by {PrintableText.Escape(caller.User)}");
                        return new RemoveJobResponse { State = JobState.Cancelled };
                    }
                    break;
                case JobState.Scheduled or JobState.Running:
                    if (job.Record.CancelRequested || await RequestCancelAsync(job, caller, ct))
                        return new RemoveJobResponse { State = await WaitForEndAsync(id, ct) };
                    break;
                default:
                    if (await Etcd(() => node.Store.TryDeleteAsync(job, [], ct)))
                    {
                        node.Log.Info($"job {id} deleted ({Settle.Name(job.State)}), by {PrintableText.Escape(caller.User)}");
                        return new RemoveJobResponse { State = job.State, Deleted = true };
                    }
                    break;
            }
            // It changed under us (placed, started, settled): look again in a moment, not for ever. A job stays in
            // one of these moments for milliseconds; one that does not (a record changed in etcd by hand) is refused.
            if (Stopwatch.GetElapsedTime(since) > CancelWait)
                throw new RpcException(new Status(StatusCode.Aborted,
                    $"job {id} stayed {Settle.Name(job.State)} without settling for {CancelWait.TotalSeconds:F0} s while being removed; check it and try again"));
            await Task.Delay(ChangedUnderUs, ct);
        }
    }

    /// <summary>A job another user owns is refused whole: nothing of it is shown or changed.</summary>
    public static void Authorize(Caller caller, Job job)
    {
        if (!caller.MayAccess(job.Owner))
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"job {job.Id} belongs to another user: only its owner or an admin may see or remove it"));
    }

    /// <summary>Marks the job and its run key cancelled; the node running it kills the container and ends the job.</summary>
    private async Task<bool> RequestCancelAsync(StoredJob job, Caller caller, CancellationToken ct)
    {
        if (await Etcd(() => node.Store.GetRunAsync(job.Job.Node, job.Id, ct)) is not { } run)
            return false; // Being settled right now: read again.
        var requested = await Etcd(() => node.Store.TryRequestCancelAsync(job, run, ct));
        if (requested)
            node.Log.Info($"job {job.Id}: cancel requested by {PrintableText.Escape(caller.User)} ({Settle.Name(job.State)} on {job.Job.Node})");
        return requested;
    }

    private async Task<JobState> WaitForEndAsync(string id, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(CancelWait);
        try
        {
            return await JobWatch.UntilAsync(node.Store, id, j => j is null || JobStates.IsFinished(j.Job.State), wait.Token) is { } done
                ? done.Job.State
                : JobState.Cancelled;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The node has not confirmed yet (it may be down; the prime then settles the job as cancelled).
            return (await Etcd(() => node.Store.GetAsync(id, ct)))?.State ?? JobState.Cancelled;
        }
    }

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
