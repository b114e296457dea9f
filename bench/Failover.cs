using System.Diagnostics;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5: a new prime placing jobs after the old one is SIGKILLed. Two
/// daemons on one etcd; the prime is killed and a job submitted through the
/// other at once; the figure is kill → that job running.
/// </summary>
internal sealed class Failover : IBenchmark
{
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(5);

    public string Name => "failover";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        using var etcd = await BenchEtcd.StartAsync(context);
        var common = new[] { $"--etcd={etcd.Url}", $"--lease-ttl={LeaseTtl.TotalSeconds}s", "--slots=2" };
        await using var first = await BenchDaemon.StartAsync(context, "prime", common);
        // The first node alone wins the election; the second starts only once it has (however loaded the machine).
        var deadline = Stopwatch.StartNew();
        while (!(await first.Client.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct)).Nodes.Any(n => n.Prime && n.Name == first.NodeName))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new InvalidOperationException("the first daemon did not become prime within 30 s");
            await Task.Delay(50, ct);
        }
        await using var second = await BenchDaemon.StartAsync(context, "standby", common);
        var nodes = await second.Client.ListNodesAsync(new ListNodesRequest(), cancellationToken: ct);
        if (!nodes.Nodes.Any(n => n.Prime && n.Name == first.NodeName))
            throw new InvalidOperationException("the first daemon is not prime");

        var watch = Stopwatch.StartNew();
        first.Kill();
        var id = (await second.Client.AddJobAsync(new AddJobRequest { Command = "true" }, cancellationToken: ct)).Id;
        while (true)
        {
            var job = await second.Client.CheckJobAsync(new CheckJobRequest { Id = id }, cancellationToken: ct);
            if (job.State is not (JobState.Queued))
                break;
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
                throw new InvalidOperationException("no new prime placed the job within 60 s");
            await Task.Delay(20, ct);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        var bound = LeaseTtl.TotalSeconds + 1;
        return [new Figure($"new prime placing jobs after SIGKILL (lease TTL {LeaseTtl.TotalSeconds:0} s)", $"{seconds:F2} s", "", $"≤ {bound:0} s", FigureTable.Verdict(seconds <= bound))];
    }
}
