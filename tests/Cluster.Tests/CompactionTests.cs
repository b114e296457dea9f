using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 7: etcd is compacted past the revision a daemon's watches must resume from.</summary>
public sealed class CompactionTests
{
    [Fact]
    public async Task A_daemon_whose_watch_revision_was_compacted_rereads_the_state_and_goes_on()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var proxy = new TcpProxy("127.0.0.1", etcd.ClientPort);
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = proxy.Url, NodeName = "compacted", ExtraArgs = ["--lease-ttl=5s"] });
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        var warm = await AddAndWaitAsync(daemon, "echo warm");
        Assert.Equal("succeeded", warm);

        // Cut the daemon off, change what it watches, and compact that history away.
        proxy.Sever();
        var id = Guid.NewGuid().ToString();
        var job = new Job { Id = id, Command = "echo after compaction", State = JobState.Queued, Reason = "waiting to be placed",
            SubmittedAt = Timestamp.FromDateTime(DateTime.UtcNow), Limits = new Limits { MemoryBytes = 64 << 20, Cpus = 1, Pids = 64 } };
        var created = await new JobStore(client).CreateAsync(
            [new NewJob(new JobRecord { Job = job }, new JobSpec { Command = job.Command }, Google.Protobuf.ByteString.Empty, new QueueEntry { Limits = job.Limits })],
            CancellationToken.None);
        Assert.Equal([id], created);
        for (var i = 0; i < 20; i++)
            await client.PutAsync($"/compaction-test/{i}", "x");
        var revision = (await client.GetAsync("/compaction-test/0")).Header.Revision;
        await client.CompactAsync(revision, physical: true);
        await Task.Delay(1500);
        proxy.Restore();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string state;
        do
        {
            await Task.Delay(200);
            state = (await CheckAsync(daemon, id)).State;
        }
        while (state != "succeeded" && DateTime.UtcNow < deadline);

        Assert.True(state == "succeeded", $"the job written during the cut is {state}\n{daemon.LogTail()}");
        Assert.Equal("after compaction\n", (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--output={id}")).Stdout);
        Assert.Contains("compaction", daemon.LogText());
        Assert.True(daemon.IsRunning);
        Assert.Equal("succeeded", await AddAndWaitAsync(daemon, "echo still serving"));
    }

    [Fact]
    public async Task The_prime_compacts_etcds_history_to_the_revision_it_had_etcd_history_ago_and_goes_on_serving()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "compactor", ExtraArgs = ["--etcd-history=4s"] });
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        Assert.Equal("succeeded", await AddAndWaitAsync(daemon, "echo before"));
        var after = (await client.GetAsync("/lcluster/none")).Header.Revision;

        // Within the history and a half, plus a round: every revision before the job's last write is gone.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await client.GetAsync("/lcluster/none", new Lcluster.Etcd.Kv.GetOptions { Revision = after - 1 });
            }
            catch (EtcdCompactedException)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"etcd still has revision {after - 1} 30 s after it was current, with --etcd-history=4s\n{daemon.LogTail()}");
            await Task.Delay(250);
        }
        // The prime says so once etcd has answered: its line may follow the compaction by a moment.
        var said = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!daemon.LogText().Contains("etcd history compacted to revision", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < said, $"etcd was compacted, but the prime's log does not say so\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
        // A compaction is the prime's own work: the cluster reads and runs jobs as before.
        Assert.Equal("succeeded", await AddAndWaitAsync(daemon, "echo after"));
        Assert.True(daemon.IsRunning);
    }

    [Fact]
    public async Task The_prime_compacts_early_when_history_fills_half_of_etcds_quota_and_no_write_is_refused()
    {
        // Twice etcd's quota written within --etcd-history (10 minutes by default), as users who make and remove jobs
        // fast enough write it: without an early compaction etcd raises its space alarm and refuses every write. At
        // 5 MiB/s, the prime's checks every 2 s leave half the quota's room to spare for a slow round.
        const long Quota = 64L << 20;
        await using var etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { QuotaBytes = Quota });
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "spacious", ExtraArgs = [$"--etcd-quota={Quota}"] });
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        Assert.Equal("succeeded", await AddAndWaitAsync(daemon, "echo before"));

        var value = Google.Protobuf.ByteString.CopyFrom(new byte[512 << 10]);
        for (var i = 0; i < 2 * Quota / value.Length; i++)
        {
            try
            {
                await client.PutAsync("/compaction-test/churn", value);
            }
            catch (EtcdException e)
            {
                Assert.Fail($"write {i} of {2 * Quota / value.Length} ({i * (long)value.Length >> 20} MiB in all) refused: {e.Message}\n{daemon.LogTail()}");
            }
            await Task.Delay(100);
        }

        Assert.Contains("history compacted early", daemon.LogText());
        Assert.Equal("succeeded", await AddAndWaitAsync(daemon, "echo after"));
        Assert.True(daemon.IsRunning);
    }

    private static async Task<string> AddAndWaitAsync(DaemonProcess daemon, string command)
    {
        var result = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--addjob={command}", "--wait");
        var id = result.Stdout.Split('\n')[0];
        return (await CheckAsync(daemon, id)).State;
    }

    private static async Task<(string State, string Json)> CheckAsync(DaemonProcess daemon, string id)
    {
        var result = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--checkjob={id}", "--json");
        if (result.ExitCode != 0)
            return ($"unreadable ({result})", "");
        return (System.Text.Json.JsonDocument.Parse(result.Stdout).RootElement.GetProperty("state").GetString()!, result.Stdout);
    }
}
