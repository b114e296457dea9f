using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>A job that ended while its node collected its artifacts keeps its end through the node's death.</summary>
public sealed class CollectionRestartTests
{
    [Fact]
    public async Task A_daemon_killed_while_it_collects_a_jobs_artifacts_records_the_jobs_own_end_when_it_starts_again()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "collecting",
            ExtraArgs = ["--max-memory=2G", "--max-disk=1G"],
        });
        var added = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server,
            "--addjob=mkdir out && dd if=/dev/zero of=out/big bs=1M count=200", "--artifact=out", "--disk=400M", "--memory=900M");
        var id = added.Stdout.Trim();
        Assert.True(Guid.TryParse(id, out _), added.ToString());
        // The archive being written: the job has ended, and the node copies 200 MB into it.
        var partial = Path.Combine(daemon.DataDir, "output", id, "artifacts.tar.partial");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(partial))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {partial}\n{daemon.LogTail()}");
            await Task.Delay(5);
        }

        await daemon.KillAsync();
        await daemon.RestartAsync();

        JsonElement job;
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var check = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--checkjob={id}", "--json");
            job = JsonDocument.Parse(check.Stdout).RootElement.Clone();
            if (job.GetProperty("state").GetString() is not ("running" or "scheduled" or "queued"))
                break;
            Assert.True(DateTime.UtcNow < deadline, $"still {job}\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
        // Before, the node had kept nothing until the archive was written: the job ended lost, as one killed mid-run.
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        Assert.Equal(0, job.GetProperty("exit_code").GetInt32());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        Assert.Contains("not collected: node", job.GetProperty("reason").GetString());
    }
}
