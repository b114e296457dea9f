using System.Collections.Concurrent;
using System.Text.Json;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

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
        using var channel = NodeChannel.Open(daemon.Server);
        var client = new Lclusterd.LclusterdClient(channel);
        using var stop = new CancellationTokenSource();
        try
        {
            // Every job's end, as the watch delivers it from before the first submission: on a loaded machine the
            // first jobs can pass their retention (15 s) before the last one is even submitted, so a listing would
            // miss them.
            var from = (await client.ListJobsAsync(new ListJobsRequest { PageSize = 1 })).Revision + 1;
            var ended = new ConcurrentDictionary<string, JobState>();
            var watching = WatchEndsAsync(client, from, ended, stop.Token);

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
            Assert.NotEmpty(await ListAsync(daemon));

            // Placement: every job runs and reads its whole stdin.
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (ended.Count < Jobs + 3 && DateTime.UtcNow < deadline && !watching.IsCompleted)
                await Task.Delay(200);
            if (watching.IsFaulted)
                await watching; // the watch's own failure, not a count
            // What the jobs not seen ending were doing, and what the daemon said: a slow machine and a stuck job differ.
            var left = ended.Count == Jobs + 3 ? [] : await ListAsync(daemon);
            Assert.True(ended.Count == Jobs + 3, $"{ended.Count} of {Jobs + 3} jobs seen ending within 3 minutes; the others:{Environment.NewLine}"
                + string.Join(Environment.NewLine, left.Where(j => !ended.ContainsKey(j.GetProperty("id").GetString()!))
                    .Select(j => $"{j.GetProperty("id").GetString()} {j.GetProperty("state").GetString()}: {j.GetProperty("reason").GetString()}"))
                + $"{Environment.NewLine}the daemon's log ends:{Environment.NewLine}{daemon.LogTail(80)}");
            Assert.All(ended, e => Assert.Equal(JobState.Succeeded, e.Value));
            // The last single job ended moments ago, well within its retention: its output is its stdin's size.
            var output = (await TestSupport.Cli.OkAsync(daemon.Server, null, $"--output={ids[^2]}")).Trim();
            Assert.Equal($"{1 << 20}", output);

            // Retention: all deleted once it has passed.
            deadline = DateTime.UtcNow.AddMinutes(2);
            IReadOnlyList<JsonElement> jobs;
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
            stop.Cancel();
            File.Delete(stdin);
        }
    }

    /// <summary>Notes each job's final state as its change comes through the watch, until cancelled.</summary>
    private static async Task WatchEndsAsync(Lclusterd.LclusterdClient client, long from, ConcurrentDictionary<string, JobState> ended, CancellationToken ct)
    {
        using var events = client.WatchJobs(new WatchJobsRequest { StartRevision = from }, cancellationToken: ct);
        try
        {
            while (await events.ResponseStream.MoveNext(ct))
            {
                var change = events.ResponseStream.Current;
                if (!change.Deleted && JobStates.IsFinished(change.Job.State))
                    ended[change.Job.Id] = change.Job.State;
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            // The test is over.
        }
    }

    private static async Task<IReadOnlyList<JsonElement>> ListAsync(DaemonProcess daemon)
    {
        var text = await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs", "--json");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray().Select(j => j.Clone()).ToList();
    }
}
