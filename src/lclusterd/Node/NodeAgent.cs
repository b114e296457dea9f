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
    private readonly Dictionary<string, JobRunner> _runners = new();
    /// <summary>New placements of jobs whose earlier run here is still ending: each starts once that run is gone.</summary>
    private readonly Dictionary<string, (Assignment Assignment, long Placement)> _next = new();
    private readonly Lock _lock = new();
    private volatile bool _draining;
    private CancellationTokenSource _pass = new();
    private CancellationToken _jobs;

    /// <summary>Jobs with a container (or a start) in progress here.</summary>
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
            using var pass = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Volatile.Write(ref _pass, pass);
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
    public void Resync() => Volatile.Read(ref _pass).Cancel();

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

    /// <summary>Acts on one run key: start, cancel, or settle an earlier incarnation's job.</summary>
    private void Dispatch(string id, Assignment assignment, long placement)
    {
        var ct = _jobs;
        var incarnation = node.Registration.Incarnation;
        JobRunner? runner, fresh = null;
        DispatchStep step;
        lock (_lock)
        {
            _runners.TryGetValue(id, out runner);
            step = DispatchSteps.Next(assignment, placement, incarnation, runner?.Placement);
            // The key holds one placement at a time, and this is its latest: one that waited is gone.
            _next.Remove(id);
            if (step == DispatchStep.StartAfterEarlier)
                _next[id] = (assignment, placement);
            else if (step == DispatchStep.Start && !_draining)
                _runners.Add(id, fresh = new JobRunner(node, id, incarnation, placement));
        }

        switch (step)
        {
            case DispatchStep.Settle:
                // Ours by name, not by incarnation: what is left of it here dies, and its record is settled.
                Background.Run(node.Log, $"job {id}: settling what an earlier incarnation left", async () =>
                {
                    if (runner is not null)
                    {
                        await runner.KillAsync(KillCause.Orphaned);
                        await runner.Done;
                    }
                    await Settle.OrphanAsync(node, id, $"node {node.Name} restarted or lost its lease", ct);
                });
                return;
            case DispatchStep.Cancel:
                Background.Run(node.Log, $"job {id}: cancelling", () => runner!.KillAsync(KillCause.Cancelled));
                return;
            case DispatchStep.StartAfterEarlier:
                node.Log.Info($"job {id}: placed here again while its earlier run here ends; it starts once that has ended");
                return;
        }
        if (fresh is null)
            return;
        Background.Run(node.Log, $"job {id}", async () =>
        {
            try
            {
                await StartAsync(fresh, assignment, ct);
            }
            finally
            {
                (Assignment Assignment, long Placement) next;
                bool waiting;
                lock (_lock)
                {
                    _runners.Remove(id);
                    waiting = _next.Remove(id, out next);
                }
                if (waiting)
                    Dispatch(id, next.Assignment, next.Placement);
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
        while (true)
        {
            try
            {
                var job = await node.Store.GetAsync(runner.Id, ct);
                switch (StartSteps.Next(job, node.Name, runner.Incarnation, cancel))
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
                    case StartStep.MarkRunning:
                        if (await runner.TryMarkRunningAsync(job!, ct) is { } running)
                        {
                            await runner.RunAsync(running, ct);
                            return;
                        }
                        break;
                    case StartStep.StartMarked:
                        node.Log.Info($"job {runner.Id}: its mark as running took effect though etcd's answer was lost; starting it");
                        if (cancel || job!.Record.CancelRequested)
                            await runner.KillAsync(KillCause.Cancelled); // killed as it starts, recorded cancelled
                        await runner.RunAsync(job!.Record, ct);
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

    /// <summary>Runs settle work for a job id, one at a time per id, logging what fails.</summary>
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
