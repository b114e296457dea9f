using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Lcluster.TestSupport.Chaos;

/// <summary>How a chaos run is shaped; the same seed gives the same jobs and the same fault schedule.</summary>
public sealed record ChaosOptions
{
    public int Seed { get; init; } = 1;
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(10);
    public int Jobs { get; init; } = 2000;
    public int Daemons { get; init; } = 5;
    public int Clients { get; init; } = 4;
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan FenceTimeout { get; init; } = TimeSpan.FromSeconds(8);
    /// <summary>The daemons' --etcd-history: short, so the prime compacts etcd every 15 s while the faults go on.</summary>
    public TimeSpan EtcdHistory { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long, after the faults stop, every acknowledged job has to reach a final state.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Where the history, the container logs and every daemon's and etcd member's log are kept; null: nowhere.</summary>
    public string? KeepDir { get; init; }
    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>What a chaos run did and what the checker found.</summary>
public sealed record ChaosReport(
    int Seed, TimeSpan Elapsed, IReadOnlyDictionary<string, int> Faults, int Submitted, int Acknowledged, int Unknown,
    IReadOnlyDictionary<string, int> FinalStates, int Runs, int UnacknowledgedFound, ChaosChecker.Figures Figures, IReadOnlyList<Violation> Violations)
{
    public string Summary() => string.Join(Environment.NewLine,
    [
        $"chaos: seed {Seed}, {Elapsed.TotalSeconds:F0} s",
        $"faults injected: {Faults.Values.Sum()} ({string.Join(", ", Faults.OrderBy(f => f.Key).Select(f => $"{f.Key} {f.Value}"))})",
        $"jobs: {Submitted} submitted, {Acknowledged} acknowledged, {Unknown} unknown (no answer or refused; {UnacknowledgedFound} of them exist all the same); " +
        "final: " + string.Join(", ", FinalStates.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}")),
        $"container runs in the nodes' logs: {Runs}; jobs run more than once: {Figures.JobsRunMoreThanOnce} ({Figures.RunsBeyondTheFirst} runs beyond the first)",
        $"longest pause, an acknowledged job waiting and no container started anywhere: {Figures.LongestPause.TotalSeconds:F1} s (from {Figures.PauseFrom:HH:mm:ss.fff})",
        $"violations found: {Violations.Count}",
        .. Violations.Take(50).Select(v => "  " + v),
    ]);
}

/// <summary>
/// A Jepsen-style run against real parts: daemons each in its own network namespace around a three-member etcd,
/// clients submitting short jobs (some with --retries) and reading them back, a nemesis driven by a seeded RNG
/// that SIGKILLs and restarts daemons, cuts a node's link, SIGSTOPs and SIGCONTs a daemon, kills the etcd
/// leader and starts it again, and cuts an etcd member from its peers; then every fault is healed, every acknowledged job is waited for, and
/// <see cref="ChaosChecker"/> judges the history with the nodes' own container logs.
/// </summary>
public static class ChaosRun
{
    private static readonly string[] FaultKinds = ["kill-daemon", "partition", "pause", "kill-etcd-leader", "isolate-etcd-member"];

    /// <summary>
    /// The run, start to report. <paramref name="abort"/> (an interrupt) ends it early: the nemesis heals what it holds
    /// but restarts nothing, the clients stop, and every daemon, etcd member and namespace is removed before the
    /// <see cref="OperationCanceledException"/> comes out.
    /// </summary>
    public static async Task<ChaosReport> RunAsync(ChaosOptions options, CancellationToken abort = default)
    {
        var clock = Stopwatch.StartNew();
        var log = options.Log;
        log($"chaos: seed {options.Seed}, {options.Duration.TotalSeconds:F0} s, {options.Jobs} jobs, {options.Daemons} daemons, 3 etcd members (replay: SEED={options.Seed})");
        await using var lab = await NetworkLab.CreateAsync(options.Daemons, etcdMembers: 3);
        await using var etcd = await EtcdCluster.StartInLabAsync(lab, abort);
        var daemons = new List<DaemonProcess>();
        try
        {
            for (var i = 0; i < lab.Nodes.Count; i++)
            {
                abort.ThrowIfCancellationRequested();
                daemons.Add(await DaemonProcess.StartAsync(lab.Daemon(i, etcd.Endpoints, ["--slots=2", $"--lease-ttl={options.LeaseTtl.TotalSeconds}s", $"--fence-timeout={options.FenceTimeout.TotalSeconds}s", "--retention=24h",
                    $"--etcd-history={options.EtcdHistory.TotalSeconds}s"])));
            }
            log($"chaos: {daemons.Count} daemons serving ({string.Join(", ", daemons.Select(d => d.NodeName))}); etcd {etcd.Endpoints}");

            var history = new ConcurrentQueue<ClientOp>();
            var nemesis = new ConcurrentQueue<NemesisOp>();
            var acked = new ConcurrentDictionary<string, bool>();
            var submitWindow = options.Duration * 0.85;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
            stop.CancelAfter(options.Duration);
            var start = DateTimeOffset.UtcNow;

            var clients = Enumerable.Range(0, options.Clients).Select(c => Task.Run(() =>
                ClientAsync(c, options, daemons, start, submitWindow, history, acked, abort), abort)).ToList();
            var seen = new Dictionary<string, string>();
            var checker = Task.Run(() => ReaderAsync(daemons, history, seen, stop.Token), CancellationToken.None);
            var faults = await NemesisAsync(options, lab, etcd, daemons, nemesis, stop.Token, abort);
            await Task.WhenAll(clients);
            await checker;
            abort.ThrowIfCancellationRequested();
            log($"chaos: faults stopped after {clock.Elapsed.TotalSeconds:F0} s; {acked.Count} jobs acknowledged; waiting for every one to finish");

            var final = await WaitAllFinalAsync(daemons, acked.Keys.ToHashSet(), history, seen, options.SettleTimeout, log, abort);
            var readAt = DateTimeOffset.UtcNow;
            foreach (var id in acked.Keys)
            {
                history.Enqueue(final.TryGetValue(id, out var job)
                    ? Observation(readAt, ClientOpKind.Final, -1, id, job)
                    : new ClientOp(readAt, ClientOpKind.Final, -1, id) { JobId = id });
            }

            // Every daemon stops (SIGTERM) before its log is read: nothing is appended after.
            foreach (var daemon in daemons)
                await daemon.TerminateAsync(TimeSpan.FromSeconds(60));
            var containers = daemons.SelectMany(d => ContainerLogFile.ReadNode(d.DataDir)).ToList();
            var all = new ChaosHistory([.. history.OrderBy(o => o.At)], [.. nemesis], containers)
            {
                LostJobGrace = options.FenceTimeout + TimeSpan.FromSeconds(2),
            };
            var violations = ChaosChecker.Check(all);
            if (options.KeepDir is { } keep)
                Keep(keep, all, daemons, etcd);

            var submitted = all.Client.Count(o => o.Kind == ClientOpKind.Submit);
            var finals = all.Client.Where(o => o.Kind == ClientOpKind.Final).GroupBy(o => o.State ?? "not found").ToDictionary(g => g.Key, g => g.Count());
            return new ChaosReport(options.Seed, clock.Elapsed, faults, submitted, acked.Count, all.Client.Count(o => o.Kind == ClientOpKind.Unknown),
                finals, ChaosChecker.Runs(all).Count, seen.Keys.Count(id => !acked.ContainsKey(id)), ChaosChecker.Measure(all), violations);
        }
        catch (Exception e) when (abort.IsCancellationRequested && e is not OperationCanceledException)
        {
            // Whatever failed once interrupted (a daemon or etcd member the interrupt stopped too) failed because of it.
            throw new OperationCanceledException($"interrupted ({e.Message})", e, abort);
        }
        finally
        {
            // All at once: a daemon cut off from etcd may take its whole stop timeout to go.
            await Task.WhenAll(daemons.Select(d => d.DisposeAsync().AsTask()));
        }
    }

    /// <summary>One client: submits its share of jobs spread over the window, through a node it picks each time.</summary>
    private static async Task ClientAsync(int client, ChaosOptions options, IReadOnlyList<DaemonProcess> daemons, DateTimeOffset start,
        TimeSpan window, ConcurrentQueue<ClientOp> history, ConcurrentDictionary<string, bool> acked, CancellationToken abort)
    {
        var random = new Random(options.Seed * 7919 + client + 1);
        var share = options.Jobs / options.Clients + (client < options.Jobs % options.Clients ? 1 : 0);
        for (var k = 0; k < share; k++)
        {
            // The schedule, not a synchronization: submission k of this client is due at its share of the window.
            var due = start + window * ((k + random.NextDouble() * 0.5) / share);
            if (due > DateTimeOffset.UtcNow)
                await Task.Delay(due - DateTimeOffset.UtcNow, abort);
            abort.ThrowIfCancellationRequested();
            var tag = $"c{client}-{k}";
            var sleep = (random.Next(1, 20) / 10.0).ToString("0.0", CultureInfo.InvariantCulture);
            var exit = random.Next(20) == 0 ? 3 : 0;
            var retries = random.Next(10) < 3 ? 2 : 0;
            var node = daemons[random.Next(daemons.Count)];
            var args = new List<string> { $"--addjob=sleep {sleep}; echo {tag}; exit {exit}" };
            if (retries > 0)
                args.Add($"--retries={retries}");
            history.Enqueue(new ClientOp(DateTimeOffset.UtcNow, ClientOpKind.Submit, client, tag) { Node = node.NodeName, Retries = retries });
            CliResult result;
            try
            {
                result = await Cli.RunAsync(node.Server, [.. args]);
            }
            catch (TimeoutException e)
            {
                history.Enqueue(new ClientOp(DateTimeOffset.UtcNow, ClientOpKind.Unknown, client, tag) { Detail = e.Message });
                continue;
            }
            var id = result.Stdout.Trim();
            if (result.ExitCode == 0 && Guid.TryParse(id, out _))
            {
                acked[id] = true;
                history.Enqueue(new ClientOp(DateTimeOffset.UtcNow, ClientOpKind.Ack, client, tag) { JobId = id, Retries = retries });
            }
            else
            {
                history.Enqueue(new ClientOp(DateTimeOffset.UtcNow, ClientOpKind.Unknown, client, tag) { Detail = result.ToString() });
            }
        }
    }

    /// <summary>Reads every job through some node that answers, every few seconds, until stopped.</summary>
    private static async Task ReaderAsync(IReadOnlyList<DaemonProcess> daemons, ConcurrentQueue<ClientOp> history, Dictionary<string, string> seen,
        CancellationToken stop)
    {
        var turn = 0;
        while (!stop.IsCancellationRequested)
        {
            await ListAsync(daemons, turn++, history, seen);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One --listjobs through the first node that answers (starting at <paramref name="turn"/>); a job listed becomes a Check
    /// when it looks other than when it was last seen (<paramref name="seen"/>: id → state, exit code, attempts, node).
    /// </summary>
    private static async Task<Dictionary<string, JsonElement>?> ListAsync(IReadOnlyList<DaemonProcess> daemons, int turn, ConcurrentQueue<ClientOp> history,
        Dictionary<string, string> seen)
    {
        for (var i = 0; i < daemons.Count; i++)
        {
            var node = daemons[(turn + i) % daemons.Count];
            if (!node.IsRunning)
                continue;
            CliResult result;
            try
            {
                result = await Cli.RunAsync(node.Server, "--listjobs", "--json", "--limit=100000");
            }
            catch (TimeoutException)
            {
                continue;
            }
            if (result.ExitCode != 0)
                continue;
            var at = DateTimeOffset.UtcNow;
            var jobs = JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToDictionary(j => j.GetProperty("id").GetString()!, j => j.Clone());
            foreach (var (id, job) in jobs)
            {
                var op = Observation(at, ClientOpKind.Check, -1, id, job);
                var looks = $"{op.State} {op.ExitCode} {op.Attempts} {op.Node}";
                if (!seen.TryGetValue(id, out var before) || before != looks)
                {
                    seen[id] = looks;
                    history.Enqueue(op);
                }
            }
            return jobs;
        }
        return null;
    }

    private static ClientOp Observation(DateTimeOffset at, ClientOpKind kind, int client, string id, JsonElement job) => new(at, kind, client, id)
    {
        JobId = id,
        State = job.GetProperty("state").GetString(),
        ExitCode = job.TryGetProperty("exit_code", out var exit) && exit.ValueKind == JsonValueKind.Number ? exit.GetInt32() : null,
        Node = job.TryGetProperty("node", out var node) ? node.GetString() : null,
        Attempts = job.GetProperty("attempts").GetInt32(),
        Retries = job.GetProperty("retries").GetInt32(),
    };

    /// <summary>Reads until every acknowledged job is final (or the bound passes); the last listing.</summary>
    private static async Task<Dictionary<string, JsonElement>> WaitAllFinalAsync(IReadOnlyList<DaemonProcess> daemons, HashSet<string> ids,
        ConcurrentQueue<ClientOp> history, Dictionary<string, string> seen, TimeSpan within, Action<string> log, CancellationToken abort)
    {
        var deadline = DateTime.UtcNow + within;
        var turn = 0;
        Dictionary<string, JsonElement>? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await ListAsync(daemons, turn++, history, seen) ?? last;
            if (last is not null && ids.All(id => last.TryGetValue(id, out var j) && ChaosChecker.TerminalStates.Contains(j.GetProperty("state").GetString()!)))
                return last;
            await Task.Delay(TimeSpan.FromSeconds(1), abort);
        }
        log($"chaos: not every acknowledged job finished within {within.TotalSeconds:F0} s; the checker will say which");
        return last ?? [];
    }

    /// <summary>
    /// Injects one fault at a time, then heals it, until stopped; every choice (which fault, on which node, for how
    /// long, how long until the next) comes from the seeded RNG. Returns how many of each it injected. A fault held
    /// when <paramref name="abort"/> comes is healed at once, but what it killed is not started again.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, int>> NemesisAsync(ChaosOptions options, NetworkLab lab, EtcdCluster etcd,
        IReadOnlyList<DaemonProcess> daemons, ConcurrentQueue<NemesisOp> history, CancellationToken stop, CancellationToken abort)
    {
        var random = new Random(options.Seed);
        var counts = FaultKinds.ToDictionary(f => f, _ => 0);
        var round = new Queue<string>();
        while (true)
        {
            // Faults come in rounds, each kind once per round in a shuffled order: a short run meets every kind.
            if (round.Count == 0)
            {
                var order = FaultKinds.ToArray();
                random.Shuffle(order);
                order.ToList().ForEach(round.Enqueue);
            }
            var gap = TimeSpan.FromSeconds(2 + random.NextDouble() * 4);
            var fault = round.Dequeue();
            var target = random.Next(daemons.Count);
            var hold = fault switch
            {
                "kill-daemon" => TimeSpan.FromSeconds(1 + random.NextDouble() * 4),
                // Some cuts outlast the lease only, some the fence timeout too.
                "partition" => TimeSpan.FromSeconds(1 + random.NextDouble() * (options.FenceTimeout.TotalSeconds + 4)),
                // Some pauses outlast the fence timeout too: the stopped daemon's guard kills its containers then.
                "pause" => TimeSpan.FromSeconds(0.5 + random.NextDouble() * (options.FenceTimeout.TotalSeconds + 4)),
                "isolate-etcd-member" => TimeSpan.FromSeconds(2 + random.NextDouble() * 8),
                _ => TimeSpan.FromSeconds(1 + random.NextDouble() * 5),
            };
            try
            {
                await Task.Delay(gap, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return counts;
            }
            counts[fault]++;
            var node = daemons[target];
            // A fault once injected is always healed, even when the time is up: its hold ignores `stop`. An interrupt
            // (`abort`) cuts the hold short, and the heal then restarts nothing that was killed.
            void Record(string name, string phase)
            {
                history.Enqueue(new NemesisOp(DateTimeOffset.UtcNow, fault, name, phase));
                options.Log($"nemesis: {DateTimeOffset.UtcNow:HH:mm:ss.fff} {fault} {name} {phase}");
            }
            switch (fault)
            {
                case "kill-daemon":
                    Record(node.NodeName, "start");
                    await node.KillAsync();
                    await HoldAsync(hold, abort);
                    abort.ThrowIfCancellationRequested();
                    await node.RestartAsync();
                    Record(node.NodeName, "heal");
                    break;
                case "partition":
                    Record(node.NodeName, "start");
                    await lab.CutAsync(lab.Nodes[target]);
                    await HoldAsync(hold, abort);
                    await lab.ReconnectAsync(lab.Nodes[target]);
                    Record(node.NodeName, "heal");
                    break;
                case "pause":
                    Record(node.NodeName, "start");
                    await node.PauseAsync();
                    await HoldAsync(hold, abort);
                    await node.ResumeAsync();
                    Record(node.NodeName, "heal");
                    break;
                case "isolate-etcd-member":
                    // Cut from its peers only: its clients still reach it, and it answers them nothing new.
                    var isolated = target % etcd.Members.Count;
                    Record(etcd.Members[isolated].Name, "start");
                    await lab.CutPeersAsync(lab.EtcdMembers[isolated]);
                    await HoldAsync(hold, abort);
                    await lab.ReconnectPeersAsync(lab.EtcdMembers[isolated]);
                    Record(etcd.Members[isolated].Name, "heal");
                    break;
                default:
                    var leader = await etcd.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
                    var member = etcd.Members[leader];
                    Record(member.Name, "start");
                    await member.KillAsync();
                    await HoldAsync(hold, abort);
                    abort.ThrowIfCancellationRequested();
                    await member.StartAsync(CancellationToken.None);
                    Record(member.Name, "heal");
                    break;
            }
        }
    }

    /// <summary>Waits out a fault's hold, or until interrupted: either way the heal comes next.</summary>
    private static async Task HoldAsync(TimeSpan hold, CancellationToken abort)
    {
        try
        {
            await Task.Delay(hold, abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Heal now.
        }
    }

    private static void Keep(string dir, ChaosHistory history, IReadOnlyList<DaemonProcess> daemons, EtcdCluster etcd)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "history.txt"), history.Client.Select(o =>
            $"{o.At:HH:mm:ss.fff} {o.Kind} client={o.Client} tag={o.Tag} job={o.JobId} state={o.State} exit={o.ExitCode} node={o.Node} attempts={o.Attempts} retries={o.Retries} {o.Detail}"));
        File.WriteAllLines(Path.Combine(dir, "nemesis.txt"), history.Nemesis.Select(n => $"{n.At:HH:mm:ss.fff} {n.Fault} {n.Target} {n.Phase}"));
        foreach (var daemon in daemons)
        {
            File.Copy(daemon.LogPath, Path.Combine(dir, daemon.NodeName + ".log"), overwrite: true);
            foreach (var name in new[] { ContainerLogFile.PreviousFileName, ContainerLogFile.FileName })
            {
                var containers = Path.Combine(daemon.DataDir, name);
                if (File.Exists(containers))
                    File.Copy(containers, Path.Combine(dir, daemon.NodeName + "." + name), overwrite: true);
            }
        }
        foreach (var member in etcd.Members)
            File.Copy(member.LogPath, Path.Combine(dir, "etcd-" + member.Name + ".log"), overwrite: true);
    }
}
