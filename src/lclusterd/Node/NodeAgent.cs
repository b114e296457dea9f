using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Runs the jobs placed on this node: watches only /lcluster/node/NAME/,
/// starts what is scheduled there, kills what is cancelled or taken away,
/// settles what an earlier incarnation left, and deletes output whose job
/// is gone. It rebuilds everything from etcd after a restart, a broken watch
/// or a compaction.
/// </summary>
internal sealed class NodeAgent(NodeContext node)
{
    /// <summary>Each job id's one occupant here: a run, or the settling of an earlier incarnation's run key.</summary>
    private readonly Dictionary<string, JobRunner> _runners = new();
    /// <summary>Run keys that found another occupant (a new placement, a settling still to do): each is acted on when that occupant is gone.</summary>
    private readonly Dictionary<string, (Assignment Assignment, long Placement)> _next = new();
    private readonly Lock _lock = new();
    private volatile bool _draining;
    /// <summary>Cancelled by <see cref="Resync"/>: ends the current pass over the run keys.</summary>
    private CancellationTokenSource _resync = new();
    private CancellationToken _jobs;

    /// <summary>Jobs with a container, its start, or a settling in progress here.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
                return _runners.Count;
        }
    }

    /// <summary>Completes when the job's run here has ended; null when it does not run here.</summary>
    public Task? WhenDone(string id)
    {
        lock (_lock)
            return _runners.TryGetValue(id, out var runner) ? runner.Done : null;
    }

    /// <param name="ct">Stops watching for work.</param>
    /// <param name="jobs">Stops the jobs' own work (recording their ends): cancelled only after they were settled at shutdown.</param>
    public async Task RunAsync(CancellationToken ct, CancellationToken jobs)
    {
        _jobs = jobs;
        await ReapLeftoversAsync(ct);
        while (!ct.IsCancellationRequested)
        {
            // Liveness may call Resync at any moment, also after this pass has ended, so the source it cancels is never
            // disposed (one without a timer or a link holds nothing to free); the linked source the loop disposes is
            // its own.
            var resync = new CancellationTokenSource();
            Volatile.Write(ref _resync, resync);
            using var pass = CancellationTokenSource.CreateLinkedTokenSource(ct, resync.Token);
            try
            {
                var revision = await ReadAllAsync(ct);
                await WatchAsync(revision, pass.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Resync: read everything again.
            }
            catch (EtcdCompactedException e)
            {
                node.Log.Warn($"node {node.Name}: watch fell behind a compaction (revision {e.CompactRevision}); re-reading its jobs");
            }
            catch (EtcdException e)
            {
                node.Log.Warn($"node {node.Name}: {(e is EtcdUnavailableException ? "etcd unreachable" : "etcd refused a read")} ({e.Message}); re-reading its jobs shortly");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    /// <summary>Reads every run key again (after the node's incarnation changed).</summary>
    public void Resync() => Volatile.Read(ref _resync).Cancel();

    /// <summary>Containers a crashed predecessor left: killed now; their records are settled from their run keys.</summary>
    private async Task ReapLeftoversAsync(CancellationToken ct)
    {
        var reaped = await node.Executor.ReapLeftoversAsync(ct);
        foreach (var id in reaped)
        {
            try
            {
                node.ContainerLog.LeftoverReaped(id);
            }
            catch (IOException e)
            {
                node.Log.Warn($"job {id}: {e.Message}");
            }
        }
        if (reaped.Count > 0)
            node.Log.Warn($"node {node.Name}: killed {reaped.Count} leftover container(s) of an earlier run: {string.Join(", ", reaped)}");
    }

    private async Task<long> ReadAllAsync(CancellationToken ct)
    {
        var work = await node.Store.ReadNodeAsync(node.Name, ct);
        foreach (var run in work.Runs)
            Dispatch(run.Id, run.Assignment, run.CreateRevision);
        // Output whose job was deleted while this node was away.
        var pending = work.Runs.Select(r => r.Id).ToHashSet();
        lock (_lock)
        {
            // A placement waiting for an earlier run whose key went while the watch was down.
            foreach (var id in _next.Keys.Where(id => !pending.Contains(id)).ToList())
                _next.Remove(id);
        }
        foreach (var id in node.Output.Ids())
        {
            bool active;
            lock (_lock)
                active = _runners.ContainsKey(id);
            if (!active && !pending.Contains(id) && !work.Outputs.Contains(id))
                node.Output.Delete(id);
        }
        return work.Revision;
    }

    private async Task WatchAsync(long revision, CancellationToken ct)
    {
        await foreach (var change in node.Store.WatchNodeAsync(node.Name, revision, ct))
        {
            switch (change)
            {
                case { IsRun: true, Deleted: false, Assignment: { } assignment }:
                    Dispatch(change.Id, assignment, change.Placement);
                    break;
                case { IsRun: true, Deleted: true }:
                    await TakenAwayAsync(change.Id);
                    break;
                case { IsRun: false, Deleted: true }:
                    DeleteOutputUnlessRunning(change.Id);
                    break;
            }
        }
    }

    /// <summary>
    /// Acts on one run key: starts its job, cancels it, or settles a job of an earlier incarnation. A job id has one
    /// occupant here at a time (a run, or the settling of an earlier incarnation's run): a placement that finds it
    /// occupied by another waits, and is acted on when that occupant is gone.
    /// </summary>
    private void Dispatch(string id, Assignment assignment, long placement)
    {
        Action? act;
        lock (_lock)
            act = DecideLocked(id, assignment, placement);
        act?.Invoke();
    }

    /// <summary>Decides under <see cref="_lock"/> (taking the id for a new occupant), and returns what to do outside it.</summary>
    private Action? DecideLocked(string id, Assignment assignment, long placement)
    {
        _runners.TryGetValue(id, out var runner);
        var step = DispatchSteps.Next(assignment, placement, node.Registration.Incarnation, runner?.Placement);
        // The key holds one placement at a time, and this is its latest: one that waited is gone.
        _next.Remove(id);
        switch (step)
        {
            case DispatchStep.Settle when runner is not null:
                // Ours by name, not by incarnation. What is left of the run dies first; its settling follows.
                _next[id] = (assignment, placement);
                return () => Background.Run(node.Log, $"job {id}: killing what an earlier incarnation left", () => runner.KillAsync(KillCause.Orphaned));
            case DispatchStep.Settle:
                var settling = Occupy(id, assignment.NodeIncarnation, placement);
                return () => Run(settling, $"job {id}: settling what an earlier incarnation left",
                    ct => Settle.OrphanAsync(node, id, placement, $"node {node.Name} restarted or lost its lease", ct));
            case DispatchStep.Cancel:
                return () => Background.Run(node.Log, $"job {id}: cancelling", () => runner!.KillAsync(KillCause.Cancelled));
            case DispatchStep.StartAfterEarlier:
                _next[id] = (assignment, placement);
                return () => node.Log.Info($"job {id}: placed here again while its earlier run here ends; it starts once that has ended");
            case DispatchStep.Start when !_draining:
                var fresh = Occupy(id, assignment.NodeIncarnation, placement);
                return () => Run(fresh, $"job {id}", ct => StartAsync(fresh, assignment, ct));
            default:
                return null;
        }
    }

    private JobRunner Occupy(string id, long incarnation, long placement)
    {
        var occupant = new JobRunner(node, id, incarnation, placement);
        _runners.Add(id, occupant);
        return occupant;
    }

    /// <summary>Runs an occupant's work; when it ends, the id is free, and a placement that waited for it is acted on.</summary>
    private void Run(JobRunner occupant, string what, Func<CancellationToken, Task> work)
    {
        var ct = _jobs;
        Background.Run(node.Log, what, async () =>
        {
            try
            {
                await work(ct);
            }
            finally
            {
                occupant.Abandon(); // its Done, if the work ended before completing it
                Action? next = null;
                lock (_lock)
                {
                    _runners.Remove(occupant.Id);
                    if (_next.Remove(occupant.Id, out var waiting))
                        next = DecideLocked(occupant.Id, waiting.Assignment, waiting.Placement);
                }
                next?.Invoke();
            }
        });
    }

    /// <summary>
    /// Takes a scheduled job from its record to a running container, reading
    /// it again whenever it changed under us (a cancel, a requeue) until it is
    /// started, cancelled, or no longer this node's; waits out etcd outages.
    /// </summary>
    private async Task StartAsync(JobRunner runner, Assignment assignment, CancellationToken ct)
    {
        var cancel = assignment.Cancel;
        // The record as placed, from the run key: a mark fenced on the placement's revision needs no read of the record
        // (it fails if anything changed the record since, and the record is then read). Only for that first mark.
        var asPlaced = StoredJob.AsPlaced(assignment, runner.Placement);
        while (true)
        {
            if (node.Registration.Incarnation != runner.Incarnation)
            {
                // That incarnation is over, and its guard can no longer mark anything running: the job is settled as
                // an earlier incarnation's (by this node once this runner is gone, or by the prime), not retried here.
                runner.Abandon();
                return;
            }
            try
            {
                var job = asPlaced ?? await node.Store.GetAsync(runner.Id, ct);
                var step = StartSteps.Next(job, node.Name, runner.Incarnation, cancel);
                if (asPlaced is not null)
                {
                    asPlaced = null;
                    if (step != StartStep.MarkRunning)
                        continue; // anything else is decided on the record as it is now
                }
                switch (step)
                {
                    case StartStep.Leave:
                        runner.Abandon();
                        return;
                    case StartStep.Cancel:
                        var cancelled = Transitions.CancelledBeforeStart(job!, DateTimeOffset.UtcNow);
                        if (await node.Store.TryUpdateAsync(job!, cancelled, [node.Registration.Guard(runner.Incarnation)], [Op.Delete(Keys.Run(node.Name, runner.Id))], ct))
                        {
                            node.Log.Info($"job {runner.Id} cancelled before it started");
                            runner.Abandon();
                            return;
                        }
                        break;
                    case StartStep.MarkRunning when runner.StoppedBeforeMark is { } why:
                        // Killed while it waited to be marked (etcd out past the fence, a shutdown): it never ran, so it
                        // goes back to the queue as is, not marked and then found killed (an attempt spent, or lost).
                        var requeue = Settlement.Orphan(job!, why, DateTimeOffset.UtcNow);
                        if (await node.Store.TryUpdateAsync(job!, requeue.Next, [node.Registration.Guard(runner.Incarnation)], requeue.Ops, ct))
                        {
                            node.Log.Info($"job {runner.Id} {Settle.Name(requeue.State)}: {requeue.Next.Job.Reason}");
                            runner.Abandon();
                            return;
                        }
                        break;
                    case StartStep.MarkRunning:
                        if (await runner.TryMarkRunningAsync(job!, ct) is var (running, what))
                        {
                            await runner.RunAsync(running, what, ct);
                            return;
                        }
                        break;
                    case StartStep.StartMarked:
                        node.Log.Info($"job {runner.Id}: its mark as running took effect though etcd's answer was lost; starting it");
                        if (cancel || job!.Record.CancelRequested)
                            await runner.KillAsync(KillCause.Cancelled); // killed as it starts, recorded cancelled
                        await runner.RunAsync(job!, what: null, ct);
                        return;
                }
            }
            catch (EtcdException e)
            {
                node.Log.Warn($"job {runner.Id}: cannot start it yet ({e.Message}); retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    /// <summary>The run key went while the job ran here: someone else settled it; nothing of it may go on.</summary>
    private async Task TakenAwayAsync(string id)
    {
        JobRunner? runner;
        lock (_lock)
        {
            _runners.TryGetValue(id, out runner);
            _next.Remove(id); // a placement waiting for the earlier run was itself taken away
        }
        if (runner is { HasStarted: true })
            await runner.KillAsync(KillCause.Orphaned);
    }

    private void DeleteOutputUnlessRunning(string id)
    {
        lock (_lock)
        {
            if (_runners.ContainsKey(id))
                return;
        }
        node.Output.Delete(id);
    }

    /// <summary>
    /// Kills every job running here for the given cause; the returned task
    /// ends when their runners have ended (records written, or left on disk
    /// for later when etcd cannot take them).
    /// </summary>
    public async Task KillAllAsync(KillCause cause)
    {
        if (cause == KillCause.Shutdown)
            _draining = true;
        List<JobRunner> runners;
        lock (_lock)
            runners = [.. _runners.Values];
        foreach (var runner in runners)
            await runner.KillAsync(cause);
        await Task.WhenAll(runners.Select(r => r.Done));
    }
}
