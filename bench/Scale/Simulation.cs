using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Etcd.Api;
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
    /// <summary>Longest wait for every job to be placed and finished, after the last was accepted.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(15);
}

/// <summary>What one simulation measured, and what it proved about the jobs.</summary>
internal sealed record SimulationResult
{
    public required SimulationSettings Settings { get; init; }
    public TimeSpan HollowRegistration { get; init; }
    public double AcceptedPerSecond { get; init; }
    public double PlacedPerSecond { get; init; }
    public double WritesPerJob { get; init; }
    public double PrimeCpuMsPerJob { get; init; }
    public double ApiCpuMsPerAccepted { get; init; }
    public double EtcdCpuMsPerJob { get; init; }
    public double SimulatorCpuMsPerJob { get; init; }
    public double MachineCpuMsPerJob { get; init; }
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
        var scratch = Directory.CreateTempSubdirectory("lcluster-scale-").FullName;
        var prefix = "scale-" + Guid.NewGuid().ToString("N")[..5];
        try
        {
            await using var etcd = await EtcdServer.StartNewAsync(cancellationToken: ct);
            await using var watcher = EtcdClient.Connect([etcd.ClientUrl]);
            // Every node, hollow or not, offers the same: memory never binds, only slots do.
            string[] flags = [$"--rootfs={scratch}", $"--slots={settings.SlotsPerNode}", "--memory=64G", "--retention=86400", "--lease-ttl=10", "--fence-timeout=20"];
            var api = new List<ApiNode>();
            try
            {
                say($"etcd at {etcd.ClientUrl}; starting {settings.ApiNodes} API node(s)");
                for (var i = 0; i < settings.ApiNodes; i++)
                {
                    api.Add(await ApiNode.StartAsync($"{prefix}-api{i}", etcd.ClientUrl, flags, settings.RunTime, scratch, ct));
                    if (i == 0)
                        await WaitAsync(async () => await new JobStore(watcher).PrimeAsync(ct) == api[0].Name, TimeSpan.FromSeconds(30), () => "the first API node to become prime", ct);
                }
                var ledger = new Ledger();
                say($"registering {settings.HollowNodes} hollow node(s)");
                await using var hollow = await HollowNodes.StartAsync(etcd.ClientUrl, settings.HollowNodes, prefix, flags, settings.RunTime, ledger, scratch, ct);
                var expected = settings.HollowNodes + settings.ApiNodes;
                await WaitAsync(async () => (await api[0].Client.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct)).Nodes.Count == expected,
                    TimeSpan.FromSeconds(60), () => $"{expected} nodes listed", ct);
                say($"{expected} nodes registered (hollow ones in {hollow.RegistrationTime.TotalSeconds:F1} s); submitting {settings.Jobs} jobs from {settings.Clients} clients");
                return await MeasureAsync(settings, etcd, watcher, api, hollow, ledger, say, ct);
            }
            finally
            {
                foreach (var node in api)
                    await node.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task<SimulationResult> MeasureAsync(SimulationSettings settings, EtcdServer etcd, EtcdClient watcher, List<ApiNode> api,
        HollowNodes hollow, Ledger ledger, Action<string> say, CancellationToken ct)
    {
        var startRevision = (await watcher.GetAsync(Keys.Prime, cancellationToken: ct)).Header.Revision;
        var primeCpu = ProcessCpu.Of(api[0].Pid);
        var apiCpu = api.Skip(1).Select(a => ProcessCpu.Of(a.Pid)).ToList();
        var etcdCpu = ProcessCpu.Of(etcd.Pid);
        var selfCpu = ProcessCpu.Of(Environment.ProcessId);
        var machineCpu = ProcessCpu.Machine();

        // Placements as etcd records them: a job's run key created (the prime's Txn that schedules it).
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var placements = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var placedCount = 0;
        var clock = Stopwatch.StartNew();
        var lastPlacedAt = TimeSpan.Zero;
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in watcher.WatchAsync(Keys.Runs, new WatchOptions { Prefix = true, StartRevision = startRevision + 1 }, stopWatching.Token))
                {
                    foreach (var e in batch.Events)
                    {
                        if (e.Type != Event.Types.EventType.Put || e.Kv.CreateRevision != e.Kv.ModRevision)
                            continue;
                        placements.AddOrUpdate(Keys.Last(e.Kv.KeyText), 1, (_, n) => n + 1);
                        Interlocked.Increment(ref placedCount);
                        lastPlacedAt = clock.Elapsed;
                    }
                }
            }
            catch (OperationCanceledException) when (stopWatching.IsCancellationRequested)
            {
                // Done counting.
            }
        }, CancellationToken.None);

        var ids = new string[settings.Jobs];
        var next = -1;
        clock.Restart();
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
        var accepting = clock.Elapsed;
        say($"accepted {settings.Jobs} in {accepting.TotalSeconds:F1} s; {Volatile.Read(ref placedCount)} placed so far");

        var succeededPrefix = JobIndex.StatePrefix(JobState.Succeeded);
        long succeeded = 0;
        await WaitAsync(async () =>
        {
            succeeded = (await watcher.GetAsync(succeededPrefix, new GetOptions { Prefix = true, CountOnly = true }, ct)).Count;
            return succeeded >= settings.Jobs && Volatile.Read(ref placedCount) >= settings.Jobs;
        }, settings.Deadline, () => $"all {settings.Jobs} jobs placed and succeeded (placed {Volatile.Read(ref placedCount)}, succeeded {succeeded})", ct);
        var placing = lastPlacedAt;
        var endRevision = (await watcher.GetAsync(Keys.Prime, cancellationToken: ct)).Header.Revision;
        var primeUsed = ProcessCpu.Of(api[0].Pid) - primeCpu;
        var apiUsed = api.Skip(1).Select((a, i) => ProcessCpu.Of(a.Pid) - apiCpu[i]).ToList();
        var etcdUsed = ProcessCpu.Of(etcd.Pid) - etcdCpu;
        var selfUsed = ProcessCpu.Of(Environment.ProcessId) - selfCpu;
        var machineUsed = ProcessCpu.Machine() - machineCpu;
        await stopWatching.CancelAsync();
        await watching;
        say($"all placed in {placing.TotalSeconds:F1} s and succeeded; measuring reads with {settings.Jobs} jobs retained");

        var (listP50, listP99) = await LatencyAsync(settings.ListSamples, _ =>
            api[1 % api.Count].Client.ListJobsAsync(new ListJobsRequest(), cancellationToken: ct).ResponseAsync);
        var random = new Random(7);
        var (checkP50, checkP99) = await LatencyAsync(settings.CheckSamples, _ =>
            api[1 % api.Count].Client.CheckJobAsync(new CheckJobRequest { Id = ids[random.Next(ids.Length)] }, cancellationToken: ct).ResponseAsync);

        // Who ran what: the hollow nodes' ledger, and the API nodes' files once they stopped.
        var ranOn = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (job, node) in ledger.RanOn)
            Add(ranOn, job, node);
        var errors = hollow.Errors().ToList();
        foreach (var node in api)
        {
            await node.DisposeAsync();
            foreach (var job in node.Started())
                Add(ranOn, job, node.Name);
            errors.AddRange(File.ReadLines(node.LogPath).Where(l => l.Contains(" error ", StringComparison.Ordinal)).Take(10));
        }
        var perNode = ranOn.Values.Where(n => n.Count == 1).GroupBy(n => n[0]).Select(g => g.Count()).ToList();
        var apiShare = api.Count > 1 ? apiUsed.Average(t => t.TotalMilliseconds) : 0;
        var jobs = (double)settings.Jobs;
        return new SimulationResult
        {
            Settings = settings,
            HollowRegistration = hollow.RegistrationTime,
            AcceptedPerSecond = jobs / accepting.TotalSeconds,
            PlacedPerSecond = jobs / placing.TotalSeconds,
            WritesPerJob = (endRevision - startRevision) / jobs,
            PrimeCpuMsPerJob = primeUsed.TotalMilliseconds / jobs,
            ApiCpuMsPerAccepted = apiShare / (jobs / api.Count),
            EtcdCpuMsPerJob = etcdUsed.TotalMilliseconds / jobs,
            SimulatorCpuMsPerJob = selfUsed.TotalMilliseconds / jobs,
            MachineCpuMsPerJob = machineUsed.TotalMilliseconds / jobs,
            ListP50Ms = listP50,
            ListP99Ms = listP99,
            CheckP50Ms = checkP50,
            CheckP99Ms = checkP99,
            Submitted = ids.Distinct().Count(),
            PlacedOnce = ids.Count(id => placements.GetValueOrDefault(id) == 1),
            PlacedAgain = placements.Values.Sum(n => Math.Max(0, n - 1)),
            RanOnce = ids.Count(id => ranOn.TryGetValue(id, out var nodes) && nodes.Count == 1),
            RanAgain = ranOn.Values.Sum(n => Math.Max(0, n.Count - 1)),
            Succeeded = (int)succeeded,
            NodesUsed = perNode.Count,
            MostJobsOnANode = perNode.Count == 0 ? 0 : perNode.Max(),
            FewestJobsOnAUsedNode = perNode.Count == 0 ? 0 : perNode.Min(),
            Errors = errors,
        };

        static void Add(Dictionary<string, List<string>> ranOn, string job, string node)
        {
            if (!ranOn.TryGetValue(job, out var nodes))
                ranOn[job] = nodes = [];
            nodes.Add(node);
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
