using Google.Protobuf;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Runtime;
using Lcluster.V1;
using RuntimeLimits = Lcluster.Runtime.Limits;

namespace Lcluster.Daemon.Node;

/// <summary>
/// One job on this node, from its scheduled record to its final record: marks
/// it running (fenced) before the container starts, so a job is never run by
/// two nodes; runs it through the node's executor; records the outcome, retrying the
/// write until etcd takes it or says the job is no longer this node's.
/// </summary>
internal sealed class JobRunner
{
    private readonly NodeContext _node;
    private readonly string _id;
    private readonly long _incarnation;
    private readonly long _placement;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ExecutingJob? _execution;
    private volatile KillCause _killCause;
    private readonly long _pickedUp = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly CancellationTokenSource _killed = new();

    public JobRunner(NodeContext node, string id, long incarnation, long placement)
    {
        _node = node;
        _id = id;
        _incarnation = incarnation;
        _placement = placement;
    }

    /// <summary>The variable that tells a task of an array its index.</summary>
    public const string ArrayIndexVariable = "LCLUSTER_ARRAY_INDEX";

    public string Id => _id;

    public long Incarnation => _incarnation;

    /// <summary>The placement this runner runs: its run key's create revision.</summary>
    public long Placement => _placement;

    /// <summary>Completes when the job's container has ended and the runner stopped (recorded or not).</summary>
    public Task Done => _done.Task;

    /// <summary>The executor has started it (a container, for the daemon).</summary>
    public bool HasStarted => _execution is not null;

    /// <summary>
    /// Marks the scheduled job running (fenced), reading what to run in the same Txn. Returns the record as written
    /// (with its revisions) and what to run, or null when the job changed under us. A write etcd may or may not have
    /// applied throws; the caller settles it by reading the record again (<see cref="StartSteps.Next"/>: a job marked
    /// running by this incarnation is started).
    /// </summary>
    public Task<(StoredJob Running, WhatToRun What)?> TryMarkRunningAsync(StoredJob scheduled, CancellationToken ct) =>
        _node.Store.TryMarkRunningAsync(scheduled, Transitions.Running(scheduled, DateTimeOffset.UtcNow), _node.Registration.Guard(_incarnation), _placement, ct);

    /// <summary>
    /// Runs a job marked running by <see cref="TryMarkRunningAsync"/> to its recorded end; <paramref name="what"/> is
    /// what to run when the mark read it, null when it must be read (a mark whose answer was lost).
    /// </summary>
    public async Task RunAsync(StoredJob running, WhatToRun? what, CancellationToken ct)
    {
        try
        {
            _node.Log.Info($"job {_id} running on {_node.Name} (attempt {running.Job.Attempts}): {Shared.PrintableText.Shorten(running.Job.Command)}");
            JobOutcome outcome;
            try
            {
                outcome = await RunContainerAsync(running.Record, what, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // What no step above expects (a record no node can run, a defect): the job fails saying so, and its slot
                // is let go, rather than staying running for good with nobody to settle it.
                _node.Log.Error($"job {_id}: {e}");
                await KillStartedAsync();
                outcome = _killCause == KillCause.None
                    ? JobOutcome.CouldNotStart($"node {_node.Name} failed to run it: {e.Message}")
                    : StoppedByNode();
            }
            await RecordAsync(running, outcome, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The daemon is stopping; the shutdown path settles what is left.
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>After a failure of the runner itself: whatever of the job was started is killed (a failed kill is logged).</summary>
    private async Task KillStartedAsync()
    {
        if (_execution is not { } execution)
            return;
        try
        {
            await execution.KillAsync();
        }
        catch (Exception e)
        {
            _node.Log.Error($"job {_id}: could not kill it after the failure: {e.Message}");
        }
    }

    /// <summary>The runner ends without having run anything.</summary>
    public void Abandon() => _done.TrySetResult();

    /// <summary>Kills the container (if it runs); the cause decides how the job is recorded.</summary>
    public async Task KillAsync(KillCause cause)
    {
        if (_killCause == KillCause.None)
            _killCause = cause;
        await _killed.CancelAsync(); // stops a fetch of its inputs still under way
        if (_execution is { } execution)
            await execution.KillAsync();
    }

    /// <summary>How often the spec is asked for again while etcd does not answer.</summary>
    private static readonly TimeSpan SpecRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The job's command, environment and stdin. An etcd that does not answer is asked again until the node's
    /// fence timeout, as long as the job is not killed: past it the node kills its jobs anyway, and a stall shorter
    /// than that (a leader election, a loaded disk) must not fail a job that was only waiting to start.
    /// </summary>
    private async Task<WhatToRun> ReadWhatToRunAsync(JobRecord record, CancellationToken ct)
    {
        var giveUp = Environment.TickCount64 + (long)_node.Options.FenceTimeout.TotalMilliseconds;
        while (true)
        {
            try
            {
                var what = await _node.Store.GetSpecAsync(_id, ct)
                    ?? throw new EtcdException($"job {_id} has no spec in etcd (key {Keys.Spec(_id)} is missing)");
                var stdin = record.HasStdin ? await _node.Store.GetStdinAsync(_id, ct) : [];
                return new WhatToRun(what, stdin);
            }
            catch (EtcdUnavailableException) when (Environment.TickCount64 < giveUp && !_killed.IsCancellationRequested)
            {
                await Task.Delay(SpecRetry, ct);
            }
        }
    }

    private async Task<JobOutcome> RunContainerAsync(JobRecord record, WhatToRun? known, CancellationToken ct)
    {
        var job = record.Job;
        byte[] stdin;
        JobSpec what;
        try
        {
            _node.Output.Prepare(_id);
            (what, stdin) = known ?? await ReadWhatToRunAsync(record, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return JobOutcome.CouldNotStart($"cannot create its output files under {_node.Output.Root}: {e.Message}");
        }
        catch (EtcdException) when (_killCause != KillCause.None)
        {
            // Killed while it waited out etcd (the fence timeout, a shutdown): the job never ran, and goes back to the
            // queue or is lost as any job its node stopped, not failed for a command it never got to run.
            return StoppedByNode();
        }
        catch (EtcdException e)
        {
            return JobOutcome.CouldNotStart($"cannot read its command and stdin from etcd: {e.Message}");
        }
        Workspace? workspace = null;
        if (JobFiles.Wanted(what))
        {
            try
            {
                using var prepare = CancellationTokenSource.CreateLinkedTokenSource(ct, _killed.Token);
                workspace = await _node.Files.PrepareAsync(_id, what, job.Limits.DiskBytes, prepare.Token);
            }
            catch (JobFilesException e)
            {
                return JobOutcome.CouldNotStart(e.Message);
            }
            catch (OperationCanceledException) when (_killed.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return StoppedByNode();
            }
        }
        try
        {
            var outcome = await RunSandboxAsync(job, what, stdin, workspace, ct);
            if (workspace is null || what.Artifacts.Count == 0)
                return outcome;
            // Collecting may take long: a daemon stopped or killed meanwhile finds how the job ended when it starts again.
            KeepOnDisk(outcome with { ArtifactNote = $"not collected: node {_node.Name} stopped while it collected them" });
            return await _node.Files.CollectAsync(outcome, what, workspace, _node.Output.ArtifactsPath(_id), ct);
        }
        finally
        {
            if (workspace is not null)
                _node.Files.Release(_id, workspace);
        }
    }

    /// <summary>The job's container, from its spec to its outcome.</summary>
    private async Task<JobOutcome> RunSandboxAsync(Job job, JobSpec what, byte[] stdin, Workspace? workspace, CancellationToken ct)
    {
        var env = new Dictionary<string, string>(what.Env);
        if (job.ArrayId.Length > 0)
            env[ArrayIndexVariable] = job.ArrayIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var spec = new SandboxSpec
        {
            JobId = _id,
            RootFs = _node.Options.RootFs,
            Command = what.Command,
            Environment = env,
            Hostname = _id[..8],
            Limits = new RuntimeLimits
            {
                MemoryBytes = job.Limits.MemoryBytes > 0 ? job.Limits.MemoryBytes : null,
                Cpus = job.Limits.Cpus > 0 ? job.Limits.Cpus : null,
                Pids = job.Limits.Pids > 0 ? (int)Math.Min(job.Limits.Pids, int.MaxValue) : null,
                WallTime = job.Limits.TimeSeconds > 0 ? TimeSpan.FromSeconds(job.Limits.TimeSeconds) : null,
                DiskBytes = job.Limits.DiskBytes > 0 ? job.Limits.DiskBytes : null,
            },
            Stdin = stdin,
            StdoutPath = _node.Output.StreamPath(_id, stderr: false),
            StderrPath = _node.Output.StreamPath(_id, stderr: true),
            OutputCapBytes = _node.Options.OutputCapBytes,
            Workspace = workspace,
        };
        if (!await HoldsAuthorityAsync(ct))
            return JobOutcome.StoppedBeforeStart(cancelled: _killCause == KillCause.Cancelled) with
            {
                InfrastructureFailure = _killCause == KillCause.None ? $"node {_node.Name} lost its lease before the job started" : InfrastructureFailure(),
            };
        ContainerResult? result = null;
        var (startedWall, startedMono) = (DateTimeOffset.UtcNow, System.Diagnostics.Stopwatch.GetTimestamp());
        try
        {
            _execution = await _node.Executor.StartAsync(spec, ct);
            Metrics.DaemonMetrics.ContainerStarted(_pickedUp);
        }
        catch (SandboxException e)
        {
            return JobOutcome.CouldNotStart(e.Message);
        }
        AppendToContainerLog(log => log.Started(_id, job.Attempts, _incarnation, _execution.Pid, startedWall, startedMono));
        try
        {
            if (_killCause != KillCause.None)
                await _execution.KillAsync();
            result = await _execution.Completion;
        }
        finally
        {
            AppendToContainerLog(log => log.Ended(_id, job.Attempts, _incarnation, _execution.Pid, result?.ExitCode, result?.Signal ?? 0));
        }
        // A kill that came after the job had ended by itself (a shutdown while its output drained) did nothing to it:
        // its own end is recorded, not a stop that would run it again.
        return new JobOutcome(
            result.ExitCode, result.Signal ?? 0, result.OomKilled, result.TimedOut,
            Cancelled: result.Killed && _killCause == KillCause.Cancelled, StartFailure: result.StartFailure,
            result.PeakMemoryBytes, result.CpuTime.TotalSeconds, result.StdoutBytes, result.StderrBytes)
        {
            InfrastructureFailure = result.Killed ? InfrastructureFailure() : null,
            NodeProblem = result.InfrastructureFailure,
            StdoutTruncated = result.StdoutTruncated,
            StderrTruncated = result.StderrTruncated,
        };
    }

    /// <summary>How often a runner about to start looks again whether its node's lease is known to be alive.</summary>
    private static readonly TimeSpan AuthorityCheck = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Whether the container may start now: this runner's incarnation is still the node's, and etcd confirmed a renewal
    /// of its lease sent less than half a TTL ago, so the lease outlives the start and no prime can have given the job up
    /// yet. While the lease is only unconfirmed (etcd slow or out of reach) it waits; false once the lease is gone or
    /// the job was killed (the fence timeout kills it). A node cut off while it read the job's spec, retried through the
    /// cut, would otherwise start a job the prime had declared lost meanwhile.
    /// </summary>
    private async Task<bool> HoldsAuthorityAsync(CancellationToken ct)
    {
        while (!_killed.IsCancellationRequested)
        {
            switch (_node.Registration.Standing(_incarnation, within: _node.Options.LeaseTtl / 2))
            {
                case LeaseStanding.Gone:
                    return false;
                case LeaseStanding.Confirmed:
                    return true;
            }
            await Task.Delay(AuthorityCheck, ct);
        }
        return false;
    }

    /// <summary>A line in the node's container log; a failed append is told in the daemon's log, and the job goes on.</summary>
    private void AppendToContainerLog(Action<ContainerLog> append)
    {
        try
        {
            append(_node.ContainerLog);
        }
        catch (IOException e)
        {
            _node.Log.Warn($"job {_id}: {e.Message}");
        }
    }

    /// <summary>The outcome of a job the daemon killed before it ran: back to the queue, lost, or cancelled (<see cref="Settle"/>).</summary>
    private JobOutcome StoppedByNode() =>
        JobOutcome.StoppedBeforeStart(cancelled: _killCause == KillCause.Cancelled) with { InfrastructureFailure = InfrastructureFailure() };

    /// <summary>
    /// Why the node stopped the job before marking it running, when it did for its own reasons (its fence, its
    /// shutdown): the job never ran, and goes back to the queue with no attempt counted. Null otherwise.
    /// </summary>
    public string? StoppedBeforeMark => _killCause switch
    {
        KillCause.Fenced => $"node {_node.Name} could not reach etcd for {_node.Options.FenceTimeout.TotalSeconds:0.#}s",
        KillCause.Shutdown => $"node {_node.Name} shut down",
        _ => null,
    };

    /// <summary>Why the daemon killed the job when that was not the job's doing; null otherwise.</summary>
    private string? InfrastructureFailure() => _killCause switch
    {
        KillCause.Fenced => StoppedBeforeMark + " and killed it",
        KillCause.Shutdown => StoppedBeforeMark,
        KillCause.Orphaned => $"node {_node.Name} lost the job to a newer incarnation",
        _ => null,
    };

    /// <summary>
    /// Writes the outcome: kept on disk first, so a daemon restarted before etcd took it can still record it. The
    /// write is fenced on the record as marked running; one changed since (a cancel request) is read again.
    /// </summary>
    private async Task RecordAsync(StoredJob running, JobOutcome outcome, CancellationToken ct)
    {
        if (outcome.NodeProblem is { } problem)
            _node.Log.Warn($"job {_id}: {problem}");
        KeepOnDisk(outcome);
        await Settle.RecordOutcomeAsync(_node, running, _incarnation, outcome, ct);
    }

    private void KeepOnDisk(JobOutcome outcome)
    {
        try
        {
            OutcomeFile.Write(_node.Output.OutcomePath(_id), outcome, _incarnation);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk must not lose the result: etcd takes it all the same, only a restart in between would.
            _node.Log.Warn($"job {_id}: could not keep its outcome on disk ({e.Message}); recording it in etcd only");
        }
    }
}

/// <summary>Why a job's container was killed by the daemon (not by its limits).</summary>
internal enum KillCause { None, Cancelled, Fenced, Orphaned, Shutdown }
