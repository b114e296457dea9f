using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using Lcluster.Etcd;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Scale;

/// <summary>The simulated cluster's size and load.</summary>
internal sealed record SimulationSettings
{
    public int HollowNodes { get; init; } = 1000;
    public int ApiNodes { get; init; } = 3;
    public int Jobs { get; init; } = 100_000;
    public int Clients { get; init; } = 64;
    public int SlotsPerNode { get; init; } = 8;
    /// <summary>How long a hollow job "runs"; zero ends it at once.</summary>
    public TimeSpan RunTime { get; init; } = TimeSpan.Zero;
    public int ListSamples { get; init; } = 200;
    public int CheckSamples { get; init; } = 2000;
    /// <summary>The nodes' --etcd-history: the reads are measured once the prime has compacted past the jobs.</summary>
    public TimeSpan EtcdHistory { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>How long the prime's idle rounds are counted, once before the jobs come and once with all of them retained.</summary>
    public TimeSpan IdleWindow { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Longest wait for every job to be placed and finished, after the last was accepted.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Go's GOGC for the cluster's etcd: what docs/performance.md ("Running etcd") advises for the etcd of a large
    /// cluster, which this simulates; null leaves Go's default (100).
    /// </summary>
    public string? EtcdGoGarbageTarget { get; init; } = "400";
}

/// <summary>Rounds the prime made over a window with nothing to do, and the CPU of its process meanwhile.</summary>
internal sealed record IdleRounds(long Rounds, TimeSpan Cpu)
{
    public double MsPerRound => Rounds == 0 ? double.NaN : Cpu.TotalMilliseconds / Rounds;
}

/// <summary>What one simulation measured, and what it proved about the jobs.</summary>
internal sealed record SimulationResult
{
    public required SimulationSettings Settings { get; init; }
    public TimeSpan HollowRegistration { get; init; }
    public double AcceptedPerSecond { get; init; }
    /// <summary>etcd revisions per job while the jobs were accepted (and nothing else happened).</summary>
    public double AcceptWritesPerJob { get; init; }
    public double EtcdCpuMsPerAccepted { get; init; }
    public double PlacedPerSecond { get; init; }
    public double WritesPerJob { get; init; }
    /// <summary>Keys put or deleted per job (a write is a Txn of several), from etcd's own counters.</summary>
    public double KeysWrittenPerJob { get; init; }
    /// <summary>Range operations per job (gets, gets inside a Txn, and the compares of a Txn), from etcd's counters.</summary>
    public double KeysReadPerJob { get; init; }
    public double PrimeCpuMsPerJob { get; init; }
    /// <summary>The prime's idle rounds among the API nodes alone: before any job, and with every job retained.</summary>
    public required IdleRounds IdleEmpty { get; init; }
    public required IdleRounds IdleRetained { get; init; }
    public double ApiCpuMsPerAccepted { get; init; }
    public double EtcdCpuMsPerJob { get; init; }
    public double SimulatorCpuMsPerJob { get; init; }
    public double MachineCpuMsPerJob { get; init; }
    /// <summary>The first listing of the API node measured: read from etcd's index keys while the node loads its view of the jobs.</summary>
    public double FirstListMs { get; init; }

    /// <summary>From that first listing until the node's view held every job.</summary>
    public TimeSpan ListViewLoad { get; init; }

    /// <summary>That node's resident memory before its first listing and once it measured the listings.</summary>
    public double ListerRssBeforeMb { get; init; }
    public double ListerRssAfterMb { get; init; }

    public double ListP50Ms { get; init; }
    public double ListP99Ms { get; init; }
    public double CheckP50Ms { get; init; }
    public double CheckP99Ms { get; init; }
    public int Submitted { get; init; }
    /// <summary>Jobs whose run key was created exactly once.</summary>
    public int PlacedOnce { get; init; }
    /// <summary>Run keys created for a job that had had one before.</summary>
    public int PlacedAgain { get; init; }
    /// <summary>Jobs started exactly once, by any node.</summary>
    public int RanOnce { get; init; }
    public long RanAgain { get; init; }
    public int Succeeded { get; init; }
    public int NodesUsed { get; init; }
    public int MostJobsOnANode { get; init; }
    public int FewestJobsOnAUsedNode { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];
    /// <summary>Times a hollow node found its lease expired (etcd did not renew it within the TTL) and registered again.</summary>
    public int LeasesLost { get; init; }
    /// <summary>Jobs in other states at the end, as "COUNT STATE" (failed ones say why in their records).</summary>
    public IReadOnlyList<string> NotSucceeded { get; init; } = [];
}

/// <summary>
/// The control plane at scale: a real etcd, <see cref="SimulationSettings.ApiNodes"/> API nodes (the daemon in
/// processes of their own, the first of them prime), <see cref="SimulationSettings.HollowNodes"/> hollow nodes in
/// this process, and <see cref="SimulationSettings.Clients"/> gRPC clients submitting trivial jobs over the API
/// nodes' Unix sockets. Measures acceptance, placement, etcd writes and the prime's CPU per job, then read
/// latencies with every job retained; and checks every job was placed and ran exactly once.
/// </summary>
internal static class Simulation
{
    public static async Task<SimulationResult> RunAsync(SimulationSettings settings, Action<string> say, CancellationToken ct)
    {
        // The simulated nodes' data dirs (each job's output directory and outcome file) in memory when the machine
        // has a tmpfs for it: they stand for a thousand machines' disks, not this one's. etcd keeps its data on disk.
        var scratch = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "lcluster-scale-" + Guid.NewGuid().ToString("N")[..8])).FullName
            : Directory.CreateTempSubdirectory("lcluster-scale-").FullName;
        var prefix = "scale-" + Guid.NewGuid().ToString("N")[..5];
        try
        {
            await using var etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { GoGarbageTarget = settings.EtcdGoGarbageTarget }, ct);
            await using var watcher = EtcdClient.Connect([etcd.ClientUrl]);
            // Every node offers the same: memory never binds, only slots do. An API node has one slot, held (gated)
            // while acceptance is measured, so that nothing else happens meanwhile.
            // The prime compacts etcd's history (1 min kept, by default), so the reads below measure a compacted store, as a
            // cluster's is within --etcd-history and a half (10–15 min by default) of its jobs' last writes.
            string[] common = [$"--rootfs={scratch}", "--memory=64G", "--retention=86400", "--lease-ttl=10", "--fence-timeout=20",
                $"--etcd-history={settings.EtcdHistory.TotalSeconds}s"];
            var api = new List<ApiNode>();
            SimulationResult? result = null;
            try
            {
                say($"etcd at {etcd.ClientUrl}; starting {settings.ApiNodes} API node(s)");
                for (var i = 0; i < settings.ApiNodes; i++)
                {
                    api.Add(await ApiNode.StartAsync($"{prefix}-api{i}", etcd.ClientUrl, [.. common, "--slots=1"], settings.RunTime, gated: true, scratch, ct));
                    if (i == 0)
                        await WaitAsync(async () => await new JobStore(watcher).PrimeAsync(ct) == api[0].Name, TimeSpan.FromSeconds(30), () => "the first API node to become prime", ct);
                }
                await WaitAsync(async () => (await api[0].Client.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct)).Nodes.Count == settings.ApiNodes,
                    TimeSpan.FromSeconds(30), () => $"{settings.ApiNodes} API nodes listed", ct);
                result = await MeasureAsync(settings, etcd, watcher, api, [.. common, $"--slots={settings.SlotsPerNode}"], prefix, scratch, say, ct);
                return result;
            }
            finally
            {
                foreach (var node in api)
                    await node.DisposeAsync();
                if (result is not { LeasesLost: 0, PlacedAgain: 0, RanAgain: 0 } || result.Succeeded < result.Submitted)
                    say($"kept the logs of etcd and every node in {KeepLogs(etcd, api, scratch, prefix)}: this run failed or lost something");
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Copies etcd's log, the hollow nodes' and each API node's into a directory that outlives the run, and returns it.</summary>
    private static string KeepLogs(EtcdServer etcd, List<ApiNode> api, string scratch, string prefix)
    {
        var kept = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"lcluster-{prefix}-logs")).FullName;
        foreach (var (from, name) in api.Select(a => (a.LogPath, a.Name + ".log"))
                     .Append((etcd.LogPath, "etcd.log")).Append((Path.Combine(scratch, HollowNodes.LogName), HollowNodes.LogName)).Where(f => File.Exists(f.Item1)))
            File.Copy(from, Path.Combine(kept, name), overwrite: true);
        return kept;
    }

    /// <summary>The rounds the prime makes over <paramref name="window"/> and its process's CPU meanwhile.</summary>
    private static async Task<IdleRounds> IdleRoundsAsync(ApiNode prime, TimeSpan window, CancellationToken ct)
    {
        var (rounds, cpu) = (await prime.PrimeRoundsAsync(ct), ProcessCpu.Of(prime.Pid));
        await Task.Delay(window, ct);
        return new IdleRounds(await prime.PrimeRoundsAsync(ct) - rounds, ProcessCpu.Of(prime.Pid) - cpu);
    }

    /// <summary>CPU used so far by the prime, the other API nodes, etcd, this process and the machine.</summary>
    private sealed record CpuSnapshot(TimeSpan Prime, TimeSpan OtherApi, TimeSpan Etcd, TimeSpan Self, TimeSpan Machine, long Revision)
    {
        public static async Task<CpuSnapshot> TakeAsync(List<ApiNode> api, EtcdServer etcd, EtcdClient watcher, CancellationToken ct) => new(
            ProcessCpu.Of(api[0].Pid), api.Skip(1).Aggregate(TimeSpan.Zero, (sum, a) => sum + ProcessCpu.Of(a.Pid)), ProcessCpu.Of(etcd.Pid),
            ProcessCpu.Of(Environment.ProcessId), ProcessCpu.Machine(), (await watcher.GetAsync(Keys.Prime, cancellationToken: ct)).Header.Revision);
    }

    /// <summary>
    /// Two phases. Acceptance: the clients submit every job while the API nodes' only slots are held, so the cluster
    /// does nothing but accept (the prime follows the queue and finds no room). Placement: the hollow nodes register
    /// and the held slots open; the prime places the whole queue while the nodes run and record every job.
    /// </summary>
    private static async Task<SimulationResult> MeasureAsync(SimulationSettings settings, EtcdServer etcd, EtcdClient watcher, List<ApiNode> api,
        string[] hollowFlags, string prefix, string scratch, Action<string> say, CancellationToken ct)
    {
        // What a round of the prime costs with no history, among the API nodes alone: compared below with the same
        // cluster holding every job finished, it shows whether the prime's work grows with what is retained.
        await Task.Delay(TimeSpan.FromSeconds(2), ct); // the API nodes' joining settled
        var idleEmpty = await IdleRoundsAsync(api[0], settings.IdleWindow, ct);
        var atStart = await CpuSnapshot.TakeAsync(api, etcd, watcher, ct);
        var metricsAtStart = await EtcdMetrics.ReadAsync(etcd.ClientUrl, ct);

        // Placements as etcd records them: a job's run key created (the prime's Txn that schedules it).
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var placements = new Dictionary<string, int>(StringComparer.Ordinal);
        var placedAt = new List<TimeSpan>();
        var placedCount = 0;
        var clock = Stopwatch.StartNew();
        var watching = Task.Run(() => WatchCreationsAsync(watcher, Keys.Runs, atStart.Revision, key =>
        {
            var id = Keys.Last(key);
            placements[id] = placements.GetValueOrDefault(id) + 1;
            placedAt.Add(clock.Elapsed);
            Interlocked.Increment(ref placedCount);
        }, stopWatching.Token), CancellationToken.None);
        // Jobs that ended, in whatever state: their key in that state's index created (watched, not counted by
        // polling: a count of a large prefix costs etcd a walk over all of it).
        var endedCount = 0;
        var watchingEnds = Task.WhenAll(JobIndex.States.Where(JobStates.IsFinished).Select(state => Task.Run(() =>
            WatchCreationsAsync(watcher, JobIndex.StatePrefix(state), atStart.Revision, _ => Interlocked.Increment(ref endedCount), stopWatching.Token),
            CancellationToken.None)));

        say($"acceptance: {settings.Jobs} jobs from {settings.Clients} clients over {api.Count} API nodes");
        var ids = new string[settings.Jobs];
        var next = -1;
        var submitting = Stopwatch.StartNew();
        var channels = Enumerable.Range(0, settings.Clients).Select(i => NodeChannel.Open("unix:" + api[i % api.Count].Socket)).ToList();
        try
        {
            await Task.WhenAll(channels.Select(channel => Task.Run(async () =>
            {
                var client = new Lclusterd.LclusterdClient(channel);
                int i;
                while ((i = Interlocked.Increment(ref next)) < settings.Jobs)
                    ids[i] = (await client.AddJobAsync(new AddJobRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct)).Id;
            }, ct)));
        }
        finally
        {
            foreach (var channel in channels)
                channel.Dispose();
        }
        var accepting = submitting.Elapsed;
        var accepted = await CpuSnapshot.TakeAsync(api, etcd, watcher, ct);
        say($"accepted {settings.Jobs} in {accepting.TotalSeconds:F1} s; placement: registering {settings.HollowNodes} hollow node(s)");

        var phaseB = clock.Elapsed;
        var ledger = new Ledger();
        await using var hollow = await HollowNodes.StartAsync(etcd.ClientUrl, settings.HollowNodes, prefix, hollowFlags, settings.RunTime, ledger, scratch, ct);
        foreach (var node in api)
            await node.OpenGateAsync();
        say($"{settings.HollowNodes} hollow nodes registered in {hollow.RegistrationTime.TotalSeconds:F1} s; waiting for every job to be placed and to succeed");
        await WaitAsync(() => Task.FromResult(Volatile.Read(ref endedCount) >= settings.Jobs && Volatile.Read(ref placedCount) >= settings.Jobs),
            settings.Deadline, () => $"all {settings.Jobs} jobs placed and ended (placed {Volatile.Read(ref placedCount)}, ended {Volatile.Read(ref endedCount)})", ct);
        var done = await CpuSnapshot.TakeAsync(api, etcd, watcher, ct);
        var keys = await EtcdMetrics.ReadAsync(etcd.ClientUrl, ct) - metricsAtStart;
        await stopWatching.CancelAsync();
        await Task.WhenAll(watching, watchingEnds);
        var succeeded = (await watcher.GetAsync(JobIndex.StatePrefix(JobState.Succeeded), new GetOptions { Prefix = true, CountOnly = true }, ct)).Count;
        var notSucceeded = new List<string>();
        foreach (var state in JobIndex.States.Where(st => st != JobState.Succeeded))
        {
            var count = (await watcher.GetAsync(JobIndex.StatePrefix(state), new GetOptions { Prefix = true, CountOnly = true }, ct)).Count;
            if (count > 0)
                notSucceeded.Add($"{count} {JobIndex.Name(state)}");
        }
        var placedInB = placedAt.Where(t => t >= phaseB).ToList();
        var placing = placedInB.Count < 2 ? TimeSpan.Zero : placedInB[^1] - placedInB[0];
        say($"{placedInB.Count} placed in {placing.TotalSeconds:F1} s; all ended; waiting for the prime to compact etcd's history past them");
        await WaitAsync(async () => await CompactedPastAsync(watcher, done.Revision, ct), settings.EtcdHistory * 2 + TimeSpan.FromSeconds(30),
            () => $"etcd's history compacted past revision {done.Revision} by the prime (--etcd-history={settings.EtcdHistory.TotalSeconds}s)", ct);
        // etcd deletes the compacted revisions in the background, in batches (15–18 s for a minute of this run's writes):
        // the reads are measured on the store it leaves, not while it is at work.
        var compacting = Stopwatch.StartNew();
        await WaitAsync(async () => await EtcdMetrics.CompactionsUnderwayAsync(etcd.ClientUrl, ct) <= 0, TimeSpan.FromMinutes(5),
            () => "etcd to finish the compactions it accepted", ct);
        say($"compacted (etcd's last compaction finished {compacting.Elapsed.TotalSeconds:F1} s after the prime's request was seen); measuring reads with {settings.Jobs} jobs retained");

        // A node's first listing starts its view of the jobs and is read from etcd meanwhile; the later ones are from the view.
        var readerNode = api[1 % api.Count];
        var reader = readerNode.Client;
        var rssBefore = ProcessCpu.Rss(readerNode.Pid) / 1048576.0;
        var first = System.Diagnostics.Stopwatch.StartNew();
        await reader.ListJobsAsync(new ListJobsRequest(), cancellationToken: ct);
        var firstListMs = first.Elapsed.TotalMilliseconds;
        await WaitAsync(() => Task.FromResult(File.ReadLines(readerNode.LogPath).Any(l => l.Contains("listing view loaded: ", StringComparison.Ordinal))),
            TimeSpan.FromMinutes(2), () => $"{readerNode.Name} loaded its view of the jobs for listings", ct);
        var viewLoad = first.Elapsed;
        say($"{readerNode.Name}: {File.ReadLines(readerNode.LogPath).First(l => l.Contains("listing view loaded: ", StringComparison.Ordinal))}");
        var (listP50, listP99) = await LatencyAsync(settings.ListSamples, _ => reader.ListJobsAsync(new ListJobsRequest(), cancellationToken: ct).ResponseAsync);
        var rssAfter = ProcessCpu.Rss(readerNode.Pid) / 1048576.0;
        var random = new Random(7);
        var (checkP50, checkP99) = await LatencyAsync(settings.CheckSamples, _ =>
            reader.CheckJobAsync(new CheckJobRequest { Id = ids[random.Next(ids.Length)] }, cancellationToken: ct).ResponseAsync);

        // Who ran what: the hollow nodes' ledger, and the API nodes' files once they stopped.
        var ranOn = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (job, node) in ledger.RanOn)
            Add(ranOn, job, node);
        var repeats = ledger.Repeats;
        var errors = hollow.Errors().ToList();
        var leasesLost = hollow.LeasesLost();

        // The prime's idle rounds again, every job retained: the hollow nodes leave first (they revoke their leases),
        // so it sees the same three members as before the jobs came.
        await hollow.DisposeAsync();
        await WaitAsync(async () => (await api[0].Client.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct)).Nodes.Count == api.Count,
            TimeSpan.FromSeconds(60), () => "the hollow nodes to leave the list of nodes", ct);
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var idleRetained = await IdleRoundsAsync(api[0], settings.IdleWindow, ct);
        foreach (var node in api)
        {
            await node.DisposeAsync();
            foreach (var job in node.Started())
                Add(ranOn, job, node.Name);
            errors.AddRange(File.ReadLines(node.LogPath).Where(l => l.Contains(" error ", StringComparison.Ordinal)).Take(10));
        }
        var perNode = ranOn.Values.Where(n => n.Count == 1).GroupBy(n => n[0]).Select(g => g.Count()).ToList();
        var jobs = (double)settings.Jobs;
        return new SimulationResult
        {
            Settings = settings,
            HollowRegistration = hollow.RegistrationTime,
            AcceptedPerSecond = jobs / accepting.TotalSeconds,
            AcceptWritesPerJob = (accepted.Revision - atStart.Revision) / jobs,
            ApiCpuMsPerAccepted = api.Count > 1 ? (accepted.OtherApi - atStart.OtherApi).TotalMilliseconds / (jobs * (api.Count - 1) / api.Count) : 0,
            EtcdCpuMsPerAccepted = (accepted.Etcd - atStart.Etcd).TotalMilliseconds / jobs,
            PlacedPerSecond = placing > TimeSpan.Zero ? placedInB.Count / placing.TotalSeconds : 0,
            PrimeCpuMsPerJob = (done.Prime - accepted.Prime).TotalMilliseconds / Math.Max(1, placedInB.Count),
            IdleEmpty = idleEmpty,
            IdleRetained = idleRetained,
            WritesPerJob = (done.Revision - atStart.Revision) / jobs,
            KeysWrittenPerJob = (keys.Puts + keys.Deletes) / jobs,
            KeysReadPerJob = keys.Ranges / jobs,
            EtcdCpuMsPerJob = (done.Etcd - atStart.Etcd).TotalMilliseconds / jobs,
            SimulatorCpuMsPerJob = (done.Self - accepted.Self).TotalMilliseconds / jobs,
            MachineCpuMsPerJob = (done.Machine - atStart.Machine).TotalMilliseconds / jobs,
            FirstListMs = firstListMs,
            ListViewLoad = viewLoad,
            ListerRssBeforeMb = rssBefore,
            ListerRssAfterMb = rssAfter,
            ListP50Ms = listP50,
            ListP99Ms = listP99,
            CheckP50Ms = checkP50,
            CheckP99Ms = checkP99,
            Submitted = ids.Distinct().Count(),
            PlacedOnce = ids.Count(id => placements.GetValueOrDefault(id) == 1),
            PlacedAgain = placements.Values.Sum(n => Math.Max(0, n - 1)),
            RanOnce = ids.Count(id => ranOn.TryGetValue(id, out var nodes) && nodes.Count == 1),
            RanAgain = ranOn.Values.Sum(n => Math.Max(0, n.Count - 1)) + repeats,
            Succeeded = (int)succeeded,
            NodesUsed = perNode.Count,
            MostJobsOnANode = perNode.Count == 0 ? 0 : perNode.Max(),
            FewestJobsOnAUsedNode = perNode.Count == 0 ? 0 : perNode.Min(),
            Errors = errors,
            LeasesLost = leasesLost,
            NotSucceeded = notSucceeded,
        };

        static void Add(Dictionary<string, List<string>> ranOn, string job, string node)
        {
            if (!ranOn.TryGetValue(job, out var nodes))
                ranOn[job] = nodes = [];
            nodes.Add(node);
        }
    }

    /// <summary>Calls <paramref name="created"/> with the key of every key created under the prefix after the revision, until cancelled.</summary>
    private static async Task WatchCreationsAsync(EtcdClient etcd, string prefix, long after, Action<string> created, CancellationToken ct)
    {
        try
        {
            await foreach (var batch in etcd.WatchAsync(prefix, new WatchOptions { Prefix = true, StartRevision = after + 1 }, ct))
            {
                foreach (var e in batch.Events)
                {
                    if (e.Type == Event.Types.EventType.Put && e.Kv.CreateRevision == e.Kv.ModRevision)
                        created(e.Kv.KeyText);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Done counting.
        }
    }

    /// <summary>Whether etcd has discarded the history before <paramref name="revision"/>.</summary>
    private static async Task<bool> CompactedPastAsync(EtcdClient etcd, long revision, CancellationToken ct)
    {
        try
        {
            await etcd.GetAsync(Keys.Prime, new GetOptions { Revision = revision - 1 }, ct);
            return false;
        }
        catch (EtcdCompactedException)
        {
            return true;
        }
    }

    /// <summary>p50 and p99 in ms of <paramref name="samples"/> calls made one after another (a few more first, untimed).</summary>
    private static async Task<(double P50, double P99)> LatencyAsync(int samples, Func<int, Task> call)
    {
        for (var i = 0; i < 10; i++)
            await call(i);
        var times = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var watch = Stopwatch.StartNew();
            await call(i);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return (ProcessCpu.Percentile(times, 0.50), ProcessCpu.Percentile(times, 0.99));
    }

    /// <summary>Polls a condition until it holds; past the deadline, fails naming what was waited for.</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan deadline, Func<string> what, CancellationToken ct)
    {
        var until = DateTime.UtcNow + deadline;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"waited {deadline.TotalSeconds:0} s for {what()}");
            await Task.Delay(200, ct);
        }
    }
}
