using Google.Protobuf;
using Lcluster.Etcd;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 4: etcd is stopped for 10 s and started again under three working nodes; etcd's space quota fills.</summary>
public sealed class EtcdOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_etcd_outage_refuses_new_jobs_with_unavailable_and_loses_nothing_that_ran_meanwhile()
    {
        await using var cluster = await ThreeNodes.StartAsync("--lease-ttl=2s", "--fence-timeout=30s");
        var ns = cluster.Nodes[0].Namespace!;
        var running = await BulkSubmit.AddAsync(ns, cluster.Nodes[0].Server, 3, "sleep 3; echo done");
        await WaitRunningAsync(cluster, running);

        await cluster.Etcd.StopAsync();
        var stoppedAt = DateTimeOffset.UtcNow;
        var refused = await cluster.RunAsync(1, "--addjob=echo too early");
        await Task.Delay(TimeSpan.FromSeconds(10) - (DateTimeOffset.UtcNow - stoppedAt));
        Assert.All(cluster.Nodes, n => Assert.True(n.IsRunning, $"a daemon died during the outage:\n{cluster.Logs()}"));
        await cluster.Etcd.StartAsync();
        output.WriteLine($"etcd down for {(DateTimeOffset.UtcNow - stoppedAt).TotalSeconds:F1} s; addjob meanwhile: {refused}");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("etcd is unreachable", refused.Stderr);
        var jobs = await cluster.WaitAllFinishedAsync(0, running, TimeSpan.FromSeconds(60));
        foreach (var (id, job) in jobs)
        {
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(1, job.GetProperty("attempts").GetInt32());
            Assert.Equal("done\n", (await cluster.RunAsync(0, $"--output={id}")).Stdout);
        }
        foreach (var (node, i) in cluster.Nodes.Select((n, i) => (n, i)))
        {
            var log = node.LogText();
            Assert.Contains("etcd unreachable", log);
            Assert.DoesNotContain("registered again", log);
        }

        var after = await BulkSubmit.AddAsync(ns, cluster.Nodes[0].Server, 3, "echo after");
        var done = await cluster.WaitAllFinishedAsync(0, after, TimeSpan.FromSeconds(30));
        Assert.All(done.Values, j => Assert.Equal("succeeded", j.GetProperty("state").GetString()));
        Assert.Equal(3, System.Text.Json.JsonDocument.Parse((await cluster.RunAsync(2, "--nodes", "--json")).Stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task A_node_that_must_register_again_while_etcds_space_is_full_waits_for_room_instead_of_exiting()
    {
        // etcd refuses every write while its space alarm is raised, among them the lease grant and the claim of a node
        // whose lease expired: the node waits as for an etcd it cannot reach, and registers once there is room.
        await using var etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { QuotaBytes = 4L << 20 });
        await using var proxy = new TcpProxy("127.0.0.1", etcd.ClientPort);
        // --etcd-history=0: the prime compacts nothing, so the quota stays full until the test makes room.
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = proxy.Url, NodeName = "cramped",
            ExtraArgs = ["--lease-ttl=2s", "--fence-timeout=4s", "--etcd-history=0"] });
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);

        // Cut off past its lease while etcd's quota fills.
        proxy.Sever();
        var value = ByteString.CopyFrom(new byte[256 << 10]);
        for (var i = 0; ; i++)
        {
            Assert.True(i < 64, "64 writes of 256 KiB did not fill a quota of 4 MiB");
            try
            {
                await client.PutAsync($"/space-test/{i}", value);
            }
            catch (EtcdUnavailableException e) when (e.Message.Contains("database space exceeded", StringComparison.Ordinal))
            {
                break;
            }
        }
        await Task.Delay(TimeSpan.FromSeconds(4));
        proxy.Restore();

        await WaitLogAsync(daemon, "cannot register again yet");
        await Task.Delay(TimeSpan.FromSeconds(3)); // a few more refusals, each waited out
        Assert.True(daemon.IsRunning, $"the daemon exited on a refusal for space\n{daemon.LogTail()}");
        Assert.Contains("database space exceeded", daemon.LogText());

        // Room again, as an operator makes it: the writes deleted, the history compacted, the file defragmented, the
        // alarm cleared.
        await client.DeleteAsync("/space-test/", prefix: true);
        await client.CompactAsync((await client.GetAsync("/space-test/")).Header.Revision, physical: true);
        await etcd.EtcdctlAsync("defrag");
        await etcd.EtcdctlAsync("alarm", "disarm");

        await WaitLogAsync(daemon, "registered again as incarnation");
        var added = await Cli.RunAsync(daemon.Server, "--addjob=echo after", "--wait");
        var id = added.Stdout.Split('\n')[0];
        var check = await Cli.RunAsync(daemon.Server, $"--checkjob={id}", "--json");
        Assert.True(check.ExitCode == 0, $"{added}\n{check}\n{daemon.LogTail()}");
        Assert.Equal("succeeded", System.Text.Json.JsonDocument.Parse(check.Stdout).RootElement.GetProperty("state").GetString());
    }

    private static async Task WaitLogAsync(DaemonProcess daemon, string line)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!daemon.LogText().Contains(line, StringComparison.Ordinal))
        {
            Assert.True(daemon.IsRunning, $"the daemon exited before its log said \"{line}\"\n{daemon.LogTail()}");
            Assert.True(DateTime.UtcNow < deadline, $"the daemon's log does not say \"{line}\" after 30 s\n{daemon.LogTail()}");
            await Task.Delay(200);
        }
    }

    private static async Task WaitRunningAsync(ThreeNodes cluster, IReadOnlyCollection<string> ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var states = new List<string>();
            foreach (var id in ids)
                states.Add((await cluster.CheckAsync(0, id)).GetProperty("state").GetString()!);
            if (states.All(s => s == "running"))
                return;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"not running: {string.Join(",", states)}\n{cluster.Logs()}");
            await Task.Delay(100);
        }
    }
}
