using System.Diagnostics;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5: one `lclusterc --checkjob` call as a user makes it (over the node's Unix
/// socket), the whole process from start to exit, against one `etcdctl get` (Go) of a value as
/// large as the job's record from a plain etcd on loopback (the node's own etcd takes only TLS
/// with its own certificate, which would make etcdctl pay a handshake). The two take turns.
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
        var job = await daemon.Client.CheckJobAsync(new CheckJobRequest { Id = id }, cancellationToken: ct);
        using var etcd = await BenchEtcd.StartAsync(context);
        var key = $"/lcluster/jobs/{id}";
        if (etcdctl is not null)
            await TimeAsync([etcdctl, $"--endpoints={etcd.Url}", "put", key, Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(job))], ct);
        var lclusterc = Path.Combine(context.Repo, "bin", "lclusterc");
        string[] ours = [lclusterc, $"--server={daemon.Server}", $"--checkjob={id}"];
        string[] anchor = etcdctl is null ? [] : [etcdctl, $"--endpoints={etcd.Url}", "get", key];
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
