using System.Diagnostics;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5 on one node with its embedded etcd: jobs accepted per second by a
/// pipelined gRPC client; submit → running latency with an idle slot; the daemon's
/// RSS idle and per running job. (Jobs completed per second: <see cref="Throughput"/>.)
/// </summary>
internal sealed class ClusterThroughput : IBenchmark
{
    private const int Accepted = 3000;
    private const int InFlight = 64;
    private const int LatencySamples = 100;
    private const int RunningJobs = 50;

    public string Name => "daemon";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var figures = new List<Figure>();
        await using (var daemon = await BenchDaemon.StartAsync(context, "latency", "--slots=2"))
        {
            await Task.Delay(2000, ct);
            var idle = daemon.RssBytes();
            figures.Add(new Figure("daemon RSS, idle", $"{idle / 1048576.0:F1} MB", "", "≤ 30 MB", FigureTable.Verdict(idle <= 30L << 20)));
            var (p50, p99) = await SubmitToRunningAsync(daemon, ct);
            figures.Add(new Figure("submit → running, idle slot, p50", FigureTable.Milliseconds(p50), "", "≤ 20 ms", FigureTable.Verdict(p50 <= 20)));
            figures.Add(new Figure("submit → running, idle slot, p99", FigureTable.Milliseconds(p99), "", "≤ 100 ms", FigureTable.Verdict(p99 <= 100)));
        }
        await using (var daemon = await BenchDaemon.StartAsync(context, "memory", $"--slots={RunningJobs}", $"--max-cpus={RunningJobs}", "--default-cpus=0.1", "--default-memory=16M"))
        {
            var perJob = await RssPerJobAsync(daemon, ct);
            figures.Add(new Figure($"daemon RSS per running job ({RunningJobs} `sleep`)", $"{perJob / 1024.0:F0} KB", "", "≤ 200 KB", FigureTable.Verdict(perJob <= 200 << 10)));
        }
        await using (var daemon = await BenchDaemon.StartAsync(context, "accept", "--slots=1"))
        {
            // One long job holds the only slot, so what is measured is acceptance, not running.
            await daemon.Client.AddJobAsync(new AddJobRequest { Command = "sleep 600" }, cancellationToken: ct);
            var accepted = await AcceptedPerSecondAsync(daemon, ct);
            figures.Add(new Figure($"jobs accepted/s ({Accepted}, {InFlight} in flight)", $"{accepted:F0}/s", "", "≥ 1000/s", FigureTable.Verdict(accepted >= 1000)));
        }
        return figures;
    }

    private static async Task<double> AcceptedPerSecondAsync(BenchDaemon daemon, CancellationToken ct)
    {
        var next = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= Accepted)
                await daemon.Client.AddJobAsync(new AddJobRequest { Command = "true" }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
        }));
        return Accepted / watch.Elapsed.TotalSeconds;
    }

    private static async Task<(double P50, double P99)> SubmitToRunningAsync(BenchDaemon daemon, CancellationToken ct)
    {
        var samples = new List<double>();
        for (var i = 0; i < LatencySamples + 5; i++)
        {
            var submitted = DateTimeOffset.UtcNow;
            var id = (await daemon.Client.AddJobAsync(new AddJobRequest { Command = "true" }, cancellationToken: ct)).Id;
            Job job;
            do
            {
                await Task.Delay(5, ct);
                job = await daemon.Client.CheckJobAsync(new CheckJobRequest { Id = id }, cancellationToken: ct);
            }
            while (job.State is JobState.Queued or JobState.Scheduled || job.StartedAt is null);
            if (i >= 5)
                samples.Add((job.StartedAt.ToDateTimeOffset() - submitted).TotalMilliseconds);
            while (job.State is JobState.Running)
            {
                await Task.Delay(5, ct);
                job = await daemon.Client.CheckJobAsync(new CheckJobRequest { Id = id }, cancellationToken: ct);
            }
        }
        var sorted = samples.Order().ToArray();
        return (BenchContext.Median(sorted), sorted[(int)Math.Ceiling(sorted.Length * 0.99) - 1]);
    }

    private static async Task<long> RssPerJobAsync(BenchDaemon daemon, CancellationToken ct)
    {
        async Task<long> RoundAsync()
        {
            var ids = new List<string>();
            for (var i = 0; i < RunningJobs; i++)
                ids.Add((await daemon.Client.AddJobAsync(new AddJobRequest { Command = "sleep 600" }, cancellationToken: ct)).Id);
            while ((await daemon.Client.ListJobsAsync(new ListJobsRequest { State = JobState.Running }, cancellationToken: ct)).Jobs.Count < RunningJobs)
                await Task.Delay(100, ct);
            await Task.Delay(1000, ct);
            var rss = daemon.RssBytes();
            foreach (var id in ids)
                await daemon.Client.RemoveJobAsync(new RemoveJobRequest { Id = id }, cancellationToken: ct);
            while ((await daemon.Client.ListJobsAsync(new ListJobsRequest { State = JobState.Running }, cancellationToken: ct)).Jobs.Count > 0)
                await Task.Delay(100, ct);
            return rss;
        }
        await RoundAsync(); // warm every pool and buffer
        await Task.Delay(1000, ct);
        var before = daemon.RssBytes();
        var during = await RoundAsync();
        return Math.Max(0, during - before) / RunningJobs;
    }
}
