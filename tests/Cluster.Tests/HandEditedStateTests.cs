using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
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

    [Fact]
    public async Task A_job_whose_record_no_node_can_run_fails_saying_why_and_frees_its_slot()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "strict", ExtraArgs = ["--slots=1"] });
        var holder = (await Cli.OkAsync(daemon.Server, null, "--addjob=sleep 600")).Trim();
        await WaitStateAsync(daemon, holder, "running");
        var id = (await Cli.OkAsync(daemon.Server, null, "--addjob=true", "--artifact=out", "--disk=2M")).Trim();

        // While it waits for the slot, its record is given a disk limit no request may carry (written by a node of
        // another version, or by hand): its /work would be larger than a size can be.
        var stored = (await client.GetAsync(Keys.Job(id))).Kvs.Single();
        var record = JobRecord.Parser.ParseFrom(stored.Value);
        record.Job.Limits.DiskBytes = long.MaxValue;
        await client.PutAsync(Keys.Job(id), record.ToByteString());
        await Cli.OkAsync(daemon.Server, null, $"--removejob={holder}");

        await WaitStateAsync(daemon, id, "failed");
        var check = JsonDocument.Parse(await Cli.OkAsync(daemon.Server, null, $"--checkjob={id}", "--json")).RootElement;
        Assert.Contains($"node {daemon.NodeName} failed to run it", check.GetProperty("reason").GetString());
        // Its slot is free again: the next job runs.
        var next = await Cli.RunAsync(daemon.Server, "--addjob=echo next", "--wait");
        Assert.True(next.ExitCode == 0, next.ToString() + daemon.LogTail());
        Assert.True(daemon.IsRunning, daemon.LogTail());
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
