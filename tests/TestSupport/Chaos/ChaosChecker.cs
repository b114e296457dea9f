namespace Lcluster.TestSupport.Chaos;

/// <summary>
/// Holds a chaos run's history against lcluster's promises. A pure function of plain data: the clients'
/// history, the nemesis's faults and the nodes' own container logs; no clock, no I/O.
/// <list type="bullet">
/// <item>final-state: every acknowledged job is found at the end, in a terminal state;</item>
/// <item>missing: an acknowledged job that is not found at all (lost by the scheduler);</item>
/// <item>changed-final-state: once seen terminal, a job is seen with the same state, exit code and attempts ever after;</item>
/// <item>overlapping-runs: no two runs of one job (on two nodes, or two incarnations of one) overlap in time;</item>
/// <item>succeeded-without-exit-0: a job that ended succeeded has a run whose end line says exit 0 (on the node its record names);</item>
/// <item>ran-after-finish: no run of a job starts after a client saw it finished, and none ends after that (a job
///   declared lost may run on, on a node cut off from etcd, for <see cref="ChaosHistory.LostJobGrace"/>).</item>
/// </list>
/// </summary>
public static class ChaosChecker
{
    public static readonly IReadOnlySet<string> TerminalStates = new HashSet<string> { "succeeded", "failed", "cancelled", "lost" };

    /// <summary>One container's run: from its start line to its end line, or to the latest moment it can have ended.</summary>
    public sealed record Run(string Job, string Node, int Attempt, int Pid, DateTimeOffset Start, DateTimeOffset End, bool EndSeen, int? ExitCode);

    public static IReadOnlyList<Violation> Check(ChaosHistory history)
    {
        var violations = new List<Violation>();
        var runs = Runs(history).ToLookup(r => r.Job);
        var acked = history.Client.Where(op => op.Kind == ClientOpKind.Ack && op.JobId is not null).Select(op => op.JobId!).ToHashSet();
        var observed = history.Client.Where(op => op.Kind is ClientOpKind.Check or ClientOpKind.Final && op.JobId is not null)
            .OrderBy(op => op.At).ToLookup(op => op.JobId!);

        foreach (var job in acked.Order(StringComparer.Ordinal))
        {
            var finals = observed[job].Where(op => op.Kind == ClientOpKind.Final).ToList();
            if (finals.Count == 0)
                violations.Add(new Violation("final-state", job, "acknowledged, but never read at the end"));
            else if (finals[^1].State is null)
                violations.Add(new Violation("missing", job, $"acknowledged, but not found at the end ({finals[^1].At:HH:mm:ss.fff})"));
            else if (!TerminalStates.Contains(finals[^1].State!))
                violations.Add(new Violation("final-state", job, $"still {finals[^1].State} at the end ({finals[^1].At:HH:mm:ss.fff})"));
        }

        foreach (var group in observed)
        {
            var job = group.Key;
            var firstTerminal = group.FirstOrDefault(op => op.State is { } s && TerminalStates.Contains(s));
            if (firstTerminal is null)
                continue;
            foreach (var later in group.Where(op => op.At >= firstTerminal.At && op != firstTerminal))
            {
                if (later.State is null && later.Kind == ClientOpKind.Final)
                    continue; // "missing" above says it
                if (later.State != firstTerminal.State || later.ExitCode != firstTerminal.ExitCode || later.Attempts != firstTerminal.Attempts)
                {
                    violations.Add(new Violation("changed-final-state", job,
                        $"{Describe(firstTerminal)} at {firstTerminal.At:HH:mm:ss.fff}, then {Describe(later)} at {later.At:HH:mm:ss.fff}"));
                    break;
                }
            }

            var finalState = group.LastOrDefault(op => op.State is not null)?.State ?? firstTerminal.State!;
            var grace = finalState is "lost" or "cancelled" ? history.LostJobGrace : TimeSpan.Zero;
            foreach (var run in runs[job])
            {
                if (run.Start > firstTerminal.At)
                    violations.Add(new Violation("ran-after-finish", job,
                        $"a run started on {run.Node} at {run.Start:HH:mm:ss.fff}, after a client saw the job {firstTerminal.State} at {firstTerminal.At:HH:mm:ss.fff}"));
                else if (run.EndSeen && run.End > firstTerminal.At + grace)
                    violations.Add(new Violation("ran-after-finish", job,
                        $"the run on {run.Node} (pid {run.Pid}) ended at {run.End:HH:mm:ss.fff}, after a client saw the job {firstTerminal.State} at {firstTerminal.At:HH:mm:ss.fff}"));
            }

            if (finalState == "succeeded")
            {
                var node = group.LastOrDefault(op => op.State == "succeeded")?.Node;
                if (!runs[job].Any(r => r.EndSeen && r.ExitCode == 0 && (node is null || r.Node == node)))
                    violations.Add(new Violation("succeeded-without-exit-0", job,
                        $"recorded succeeded{(node is null ? "" : $" on {node}")}, but no container log shows a run of it ending with exit 0 there " +
                        $"(runs: {string.Join("; ", runs[job].Select(r => $"{r.Node} exit {r.ExitCode?.ToString() ?? "-"}"))})"));
            }
        }

        foreach (var group in runs)
        {
            var ordered = group.OrderBy(r => r.Start).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                for (var j = i + 1; j < ordered.Count; j++)
                {
                    if (ordered[j].Start < ordered[i].End)
                    {
                        violations.Add(new Violation("overlapping-runs", group.Key,
                            $"{Describe(ordered[i])} and {Describe(ordered[j])} overlap"));
                    }
                }
            }
        }
        return violations;
    }

    /// <summary>What the run's figures say about retries and pauses (not violations).</summary>
    public sealed record Figures(int JobsRunMoreThanOnce, int RunsBeyondTheFirst, TimeSpan LongestPause, DateTimeOffset PauseFrom);

    /// <summary>
    /// Jobs that ran more than once (a retry after their node died, or a run cut short and started again), and the longest
    /// pause: the longest time an acknowledged job waited for its first start while no container started anywhere in the
    /// cluster (a client stuck on a cut-off node, with nothing queued meanwhile, is no pause of the scheduler's).
    /// </summary>
    public static Figures Measure(ChaosHistory history)
    {
        var runs = Runs(history);
        var perJob = runs.GroupBy(r => r.Job).Select(g => g.Count()).ToList();
        var firstStart = runs.GroupBy(r => r.Job).ToDictionary(g => g.Key, g => g.Min(r => r.Start));
        var acked = history.Client.Where(o => o.Kind == ClientOpKind.Ack && o.JobId is not null)
            .GroupBy(o => o.JobId!).Select(g => (Job: g.Key, At: g.Min(o => o.At))).ToList();
        var starts = runs.Select(r => r.Start).Order().ToList();
        var (pause, from) = (TimeSpan.Zero, DateTimeOffset.MinValue);
        for (var i = 1; i < starts.Count; i++)
        {
            // The earliest acknowledgement of a job still not started when the next start came.
            var waiting = acked.Where(a => a.At < starts[i] && firstStart.GetValueOrDefault(a.Job, DateTimeOffset.MaxValue) >= starts[i])
                .Select(a => a.At).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            if (waiting == DateTimeOffset.MaxValue)
                continue;
            var since = waiting > starts[i - 1] ? waiting : starts[i - 1];
            if (starts[i] - since > pause)
                (pause, from) = (starts[i] - since, since);
        }
        return new Figures(perJob.Count(n => n > 1), perJob.Sum(n => n - 1), pause, from);
    }

    /// <summary>
    /// Every container run in the logs. A run ended at its end line, or earlier when the node's container guard killed
    /// it or found it over first (a stopped daemon appends the end line only once it runs again). A start with no end
    /// line ended no later than the first of: the guard killing it or finding it over, its leftover being reaped, the
    /// node's daemon starting again, the nemesis SIGKILLing that node's daemon (its containers die with it). With none
    /// of those, it may still run: its end is unbounded.
    /// </summary>
    public static IReadOnlyList<Run> Runs(ChaosHistory history)
    {
        var runs = new List<Run>();
        foreach (var node in history.Containers.GroupBy(e => e.Node))
        {
            var events = node.ToList(); // in the order the node appended them
            for (var i = 0; i < events.Count; i++)
            {
                var start = events[i];
                if (start.Kind != "start" || start.Job is null)
                    continue;
                var after = events.Skip(i + 1).ToList();
                var endAt = after.FindIndex(e => e.Kind == "end" && e.Job == start.Job && e.Pid == start.Pid && e.Incarnation == start.Incarnation);
                var guardKill = after.Take(endAt < 0 ? after.Count : endAt).FirstOrDefault(e => e.Kind is "guard-kill" or "guard-over" && e.Job == start.Job);
                if (endAt >= 0)
                {
                    var end = after[endAt];
                    runs.Add(new Run(start.Job, node.Key, start.Attempt, start.Pid, start.Wall, guardKill is null ? end.Wall : Min(guardKill.Wall, end.Wall), true, end.ExitCode));
                    continue;
                }
                var bounds = after
                    .Where(e => e.Kind == "daemon-start" || (e.Kind is "leftover" or "guard-kill" or "guard-over" && e.Job == start.Job))
                    .Select(e => e.Wall)
                    .Concat(history.Nemesis.Where(n => n.KillsContainersOf(node.Key) && n.At >= start.Wall).Select(n => n.At))
                    .ToList();
                runs.Add(new Run(start.Job, node.Key, start.Attempt, start.Pid, start.Wall, bounds.Count > 0 ? bounds.Min() : DateTimeOffset.MaxValue, false, null));
            }
        }
        return runs;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string Describe(ClientOp op) => $"{op.State ?? "not found"}{(op.ExitCode is { } e ? $" exit {e}" : "")} attempts {op.Attempts}";

    private static string Describe(Run run) =>
        $"attempt {run.Attempt} on {run.Node} (pid {run.Pid}) {run.Start:HH:mm:ss.fff}–{(run.End == DateTimeOffset.MaxValue ? "still running" : run.End.ToString("HH:mm:ss.fff"))}{(run.EndSeen ? "" : " (end inferred)")}";
}
