using System.Diagnostics;
using System.Text.Json;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.TestSupport;

namespace Lcluster.Cluster.Tests;

/// <summary>State the daemons never leave, made by hand in etcd: a request meets it with an answer, not a hang.</summary>
public sealed class HandEditedStateTests
{
    [Fact]
    public async Task Removing_a_running_job_nobody_can_settle_is_refused_in_bounded_time_and_the_node_serves_on()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        string id;
        await using (var gone = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "gone" }))
        {
            var added = await Cli.RunAsync(gone.Server, "--addjob=sleep 600");
            Assert.True(added.ExitCode == 0, added.ToString());
            id = added.Stdout.Trim();
            await WaitStateAsync(gone, id, "running");
            // Its node dies, and the key that held its slot (what a prime finds a dead node's jobs by) is deleted by
            // hand: the record says running, and no node or prime will ever settle it.
            await gone.KillAsync();
            Assert.Equal(1, (await client.DeleteAsync(Keys.Run(gone.NodeName, id))).Deleted);
        }
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "left" });

        var clock = Stopwatch.StartNew();
        var removed = await Cli.RunAsync(daemon.Server, $"--removejob={id}");
        clock.Stop();

        Assert.True(removed.ExitCode == 1, removed.ToString() + daemon.LogTail());
        Assert.Contains($"job {id} stayed running without settling for 10 s while being removed", removed.Stderr);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));
        Assert.True(daemon.IsRunning, daemon.LogTail());
        var next = await Cli.RunAsync(daemon.Server, "--addjob=echo still serving", "--wait");
        Assert.True(next.ExitCode == 0, next.ToString() + daemon.LogTail());
    }

    private static async Task WaitStateAsync(DaemonProcess daemon, string id, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var check = await Cli.RunAsync(daemon.Server, $"--checkjob={id}", "--json");
            Assert.True(check.ExitCode == 0, check.ToString());
            var now = JsonDocument.Parse(check.Stdout).RootElement.GetProperty("state").GetString();
            if (now == state)
                return;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} is {now}, not {state}, after 30 s\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
    }
}
