using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Scale;

/// <summary>How many real daemons, and how many real jobs for them.</summary>
internal sealed record DaemonsSettings
{
    public int Daemons { get; init; } = 100;
    public int Jobs { get; init; } = 2000;
    public int Clients { get; init; } = 16;
    public int SlotsPerDaemon { get; init; } = 2;
    public int StartingAtOnce { get; init; } = 8;
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(10);
}

internal sealed record DaemonsResult
{
    public required DaemonsSettings Settings { get; init; }
    public int Started { get; init; }
    /// <summary>Why fewer than asked for started; null when all did.</summary>
    public string? StartFailure { get; init; }
    public TimeSpan Registration { get; init; }
    public int Listed { get; init; }
    public int Primes { get; init; }
    public double AcceptedPerSecond { get; init; }
    public double PlacedPerSecond { get; init; }
    public double CompletedPerSecond { get; init; }
    public int Succeeded { get; init; }
    public int NodesUsed { get; init; }
    public int MostJobsOnANode { get; init; }
    public int FewestJobsOnANode { get; init; }
    public double RssIdleMeanMb { get; init; }
    public double RssIdleMaxMb { get; init; }
    public double RssAfterMeanMb { get; init; }
    public double RssAfterMaxMb { get; init; }
}

/// <summary>
/// Real bin/lclusterd daemons, each in its own network namespace on a veth pair to a bridge (the cluster tests'
/// NetworkLab), with its own host id range for job user namespaces (2^30 + k·2^23), around one etcd in the hub
/// namespace; they register, elect one prime, and run real containers. Clients reach them over their Unix sockets.
/// </summary>
internal static class RealDaemons
{
    private const long FirstUserNamespaceId = 1L << 30, UserNamespaceSpan = 1L << 23;

    public static async Task<DaemonsResult> RunAsync(DaemonsSettings settings, Action<string> say, CancellationToken ct)
    {
        if (settings.Daemons > 253)
            throw new ArgumentException("a lab network holds 253 nodes at most");
        await using var lab = await NetworkLab.CreateAsync(settings.Daemons);
        await using var etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { Host = NetworkLab.HubAddress, Namespace = lab.Hub }, ct);
        var daemons = new DaemonProcess?[settings.Daemons];
        string? failure = null;
        try
        {
            say($"lab {lab.Id}: etcd in {lab.Hub}; starting {settings.Daemons} daemons, {settings.StartingAtOnce} at a time");
            var watch = Stopwatch.StartNew();
            using var stopStarting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            try
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, settings.Daemons),
                    new ParallelOptions { MaxDegreeOfParallelism = settings.StartingAtOnce, CancellationToken = stopStarting.Token }, async (k, token) =>
                    {
                        var node = lab.Nodes[k];
                        try
                        {
                            daemons[k] = await DaemonProcess.StartAsync(new DaemonSettings
                            {
                                Etcd = $"http://{NetworkLab.HubAddress}:2379",
                                Namespace = node.Namespace,
                                Host = node.Address,
                                NodeName = $"scale{k:D3}",
                                CertificateAuthority = lab.CertificateAuthority,
                                ExtraArgs = [$"--userns-first-id={FirstUserNamespaceId + k * UserNamespaceSpan}", $"--slots={settings.SlotsPerDaemon}", "--lease-ttl=10", "--fence-timeout=20"],
                            });
                        }
                        catch (InvalidOperationException e)
                        {
                            failure ??= $"daemon {k} did not start: {e.Message.Split(Environment.NewLine)[0]}";
                            await stopStarting.CancelAsync();
                        }
                    });
            }
            catch (OperationCanceledException) when (failure is not null)
            {
                // Stopped starting more: measure with those that run.
            }
            var up = daemons.OfType<DaemonProcess>().ToList();
            if (up.Count == 0)
                throw new InvalidOperationException(failure ?? "no daemon started");
            var channels = up.Select(d => NodeChannel.Open(d.Server)).ToList();
            try
            {
                var first = new Lclusterd.LclusterdClient(channels[0]);
                ListNodesResponse nodes = new();
                await Simulation.WaitAsync(async () => (nodes = await first.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct)).Nodes.Count >= up.Count
                                                       && nodes.Nodes.Count(n => n.Prime) == 1,
                    TimeSpan.FromSeconds(60), () => $"{up.Count} nodes listed with one prime (listed {nodes.Nodes.Count}, primes {nodes.Nodes.Count(n => n.Prime)})", ct);
                var registration = watch.Elapsed;
                say($"{up.Count} daemons registered in {registration.TotalSeconds:F1} s; prime {nodes.Nodes.Single(n => n.Prime).Name}");
                var rssIdle = up.Select(d => ProcessCpu.Rss(d.Pid) / 1048576.0).ToList();

                var ids = new string[settings.Jobs];
                var next = -1;
                var clock = Stopwatch.StartNew();
                var submittedAt = DateTimeOffset.UtcNow;
                await Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(c => Task.Run(async () =>
                {
                    var client = new Lclusterd.LclusterdClient(channels[c % channels.Count]);
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < settings.Jobs)
                        ids[i] = (await client.AddJobAsync(new AddJobRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct)).Id;
                }, ct)));
                var accepting = clock.Elapsed;
                say($"{settings.Jobs} real jobs accepted in {accepting.TotalSeconds:F1} s; waiting for them to finish");
                var jobs = new List<Job>();
                await Simulation.WaitAsync(async () =>
                {
                    jobs = await FinishedAsync(first, ct);
                    return jobs.Count >= settings.Jobs;
                }, settings.Deadline, () => $"{settings.Jobs} jobs finished ({jobs.Count} so far)", ct);
                var rssAfter = up.Select(d => ProcessCpu.Rss(d.Pid) / 1048576.0).ToList();
                var submitted = ids.ToHashSet();
                var mine = jobs.Where(j => submitted.Contains(j.Id)).ToList();
                var lastStart = mine.Where(j => j.StartedAt is not null).Max(j => j.StartedAt.ToDateTimeOffset());
                var lastEnd = mine.Max(j => j.FinishedAt.ToDateTimeOffset());
                var perNode = mine.GroupBy(j => j.Node).Select(g => g.Count()).ToList();
                return new DaemonsResult
                {
                    Settings = settings,
                    Started = up.Count,
                    StartFailure = failure,
                    Registration = registration,
                    Listed = nodes.Nodes.Count,
                    Primes = nodes.Nodes.Count(n => n.Prime),
                    AcceptedPerSecond = settings.Jobs / accepting.TotalSeconds,
                    PlacedPerSecond = settings.Jobs / (lastStart - submittedAt).TotalSeconds,
                    CompletedPerSecond = settings.Jobs / (lastEnd - submittedAt).TotalSeconds,
                    Succeeded = mine.Count(j => j.State == JobState.Succeeded),
                    NodesUsed = perNode.Count,
                    MostJobsOnANode = perNode.Max(),
                    FewestJobsOnANode = perNode.Count < up.Count ? 0 : perNode.Min(),
                    RssIdleMeanMb = rssIdle.Average(),
                    RssIdleMaxMb = rssIdle.Max(),
                    RssAfterMeanMb = rssAfter.Average(),
                    RssAfterMaxMb = rssAfter.Max(),
                };
            }
            finally
            {
                foreach (var channel in channels)
                    channel.Dispose();
            }
        }
        finally
        {
            await Task.WhenAll(daemons.OfType<DaemonProcess>().Select(d => d.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Every finished job, page by page (each job's node, start and end are in its record).</summary>
    private static async Task<List<Job>> FinishedAsync(Lclusterd.LclusterdClient client, CancellationToken ct)
    {
        var all = new List<Job>();
        foreach (var state in new[] { JobState.Succeeded, JobState.Failed })
        {
            var token = "";
            do
            {
                var page = await client.ListJobsAsync(new ListJobsRequest { State = state, PageSize = 1000, PageToken = token }, cancellationToken: ct);
                all.AddRange(page.Jobs);
                token = page.NextPageToken;
            }
            while (token.Length > 0);
        }
        return all;
    }
}
