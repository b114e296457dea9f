using System.Diagnostics;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5: one `lclusterc --checkjob` call as a user makes it, the whole process from
/// start to exit, against one `etcdctl get` (Go) of the same job's key from the node's own
/// etcd. The two take turns, so both see the same machine.
/// </summary>
internal sealed class CliCall : IBenchmark
{
    private const int Calls = 30;

    public string Name => "cli";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var etcdctl = BenchContext.FindProgram("etcdctl");
        await using var daemon = await BenchDaemon.StartAsync(context, "cli", "--slots=1");
        var id = (await daemon.Client.AddJobAsync(new AddJobRequest { Command = "true" }, cancellationToken: ct)).Id;
        var lclusterc = Path.Combine(context.Repo, "bin", "lclusterc");
        string[] ours = [lclusterc, $"--server={daemon.Server}", $"--checkjob={id}"];
        string[] anchor = etcdctl is null ? [] : [etcdctl, $"--endpoints={daemon.EtcdUrl}", "get", $"/lcluster/jobs/{id}"];
        await TimeAsync(ours, ct); // warm the page cache for both
        if (etcdctl is not null)
            await TimeAsync(anchor, ct);
        var (mine, theirs) = (new List<double>(), new List<double>());
        for (var i = 0; i < Calls; i++)
        {
            mine.Add(await TimeAsync(ours, ct));
            if (etcdctl is not null)
                theirs.Add(await TimeAsync(anchor, ct));
        }
        var title = $"one lclusterc --checkjob, whole process, median of {Calls}";
        var median = BenchContext.Median(mine);
        if (etcdctl is null)
            return [new Figure(title, FigureTable.Milliseconds(median), "etcdctl absent", "≤ etcdctl get", "skipped (no etcdctl on PATH)")];
        var ratio = median / BenchContext.Median(theirs);
        return
        [
            new Figure(title, FigureTable.Milliseconds(median), $"etcdctl get {FigureTable.Milliseconds(BenchContext.Median(theirs))}",
                "≤ etcdctl get", FigureTable.Verdict(ratio <= 1.0)),
            new Figure("  ratio ours / etcdctl", $"{ratio:F2}", "1.00", "≤ 1.0", FigureTable.Verdict(ratio <= 1.0)),
        ];
    }

    /// <summary>Milliseconds from starting the program to its exit; it must succeed.</summary>
    private static async Task<double> TimeAsync(string[] command, CancellationToken ct)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command.Skip(1))
            info.ArgumentList.Add(argument);
        info.Environment["ETCDCTL_API"] = "3";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        watch.Stop();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', command)} exited {process.ExitCode}: {await stderr}{await stdout}");
        return watch.Elapsed.TotalMilliseconds;
    }
}
