using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>
/// Jobs as large as a request may make them — a 64 KiB command, 64 variables of 4 KiB, 1 MiB of stdin — many of
/// them at once: listings, the prime's placement and retention go on working, as does an array of them.
/// </summary>
public sealed class LargeJobTests
{
    private const int Jobs = 50;

    [Fact]
    public async Task Fifty_jobs_of_the_largest_size_leave_listing_placement_and_retention_working()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "large",
            ExtraArgs = ["--slots=2", "--default-memory=64M", "--retention=15s"],
        });
        var stdin = Path.Combine(daemon.DataDir + "-stdin");
        await File.WriteAllBytesAsync(stdin, new byte[1 << 20]);
        try
        {
            // A 64 KiB command (a shell comment after `wc -c`), 64 variables with 256-byte names and 4 KiB values.
            var command = "wc -c #" + new string('x', 64 * 1024 - 7);
            var env = Enumerable.Range(0, 64).Select(i => $"--env=V{i:D2}{new string('_', 253)}={new string('v', 4096)}");
            string[] add = [$"--addjob={command}", $"--stdin={stdin}", .. env];
            var ids = new List<string>();
            for (var i = 0; i < Jobs; i++)
                ids.Add((await TestSupport.Cli.OkAsync(daemon.Server, null, add)).Trim());
            // And an array of three such tasks, in one request.
            var array = await TestSupport.Cli.OkAsync(daemon.Server, null, [.. add, "--array=1-3"]);
            ids.Add(array.Trim());

            // Listing: one job, or all of them, whatever their size.
            var one = await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs", "--limit=1");
            Assert.Single(one.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1));

            // Placement: every job runs and reads its whole stdin. Each job's end is noted as it is seen: on a loaded
            // machine the first jobs can pass their retention (15 s) before the last one ends.
            var deadline = DateTime.UtcNow.AddMinutes(3);
            var ended = new Dictionary<string, string>();
            var firstOutput = "";
            IReadOnlyList<JsonElement> jobs;
            do
            {
                await Task.Delay(500);
                jobs = await ListAsync(daemon);
                foreach (var job in jobs.Where(j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "lost" or "cancelled"))
                    ended[job.GetProperty("id").GetString()!] = job.GetProperty("state").GetString()!;
                if (firstOutput.Length == 0 && ended.ContainsKey(ids[0]))
                    firstOutput = (await TestSupport.Cli.OkAsync(daemon.Server, null, $"--output={ids[0]}")).Trim();
            }
            while (ended.Count < Jobs + 3 && DateTime.UtcNow < deadline);
            // What the jobs not seen ending were doing, and what the daemon said: a slow machine and a stuck job differ.
            Assert.True(ended.Count == Jobs + 3, $"{ended.Count} of {Jobs + 3} jobs seen ending within 3 minutes; the others:{Environment.NewLine}"
                + string.Join(Environment.NewLine, jobs.Where(j => !ended.ContainsKey(j.GetProperty("id").GetString()!))
                    .Select(j => $"{j.GetProperty("id").GetString()} {j.GetProperty("state").GetString()}: {j.GetProperty("reason").GetString()}"))
                + $"{Environment.NewLine}the daemon's log ends:{Environment.NewLine}{daemon.LogTail(80)}");
            Assert.All(ended, e => Assert.Equal("succeeded", e.Value));
            Assert.Equal($"{1 << 20}", firstOutput);

            // Retention: all deleted once it has passed.
            deadline = DateTime.UtcNow.AddMinutes(2);
            do
            {
                await Task.Delay(1000);
                jobs = await ListAsync(daemon);
            }
            while (jobs.Count > 0 && DateTime.UtcNow < deadline);
            Assert.Empty(jobs);
            var gone = await TestSupport.Cli.RunAsync(daemon.Server, $"--checkjob={ids[0]}");
            Assert.True(gone.ExitCode == 3, gone.ToString());
            Assert.Contains("retention: deleted", daemon.LogText());
        }
        finally
        {
            File.Delete(stdin);
        }
    }

    private static async Task<IReadOnlyList<JsonElement>> ListAsync(DaemonProcess daemon)
    {
        var text = await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs", "--json");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray().Select(j => j.Clone()).ToList();
    }
}
