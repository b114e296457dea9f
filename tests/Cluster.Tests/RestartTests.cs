using System.Text.Json;
using Lcluster.TestSupport;
using Lcluster.TestSupport.Chaos;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenarios 5 and 6: a daemon SIGKILLed and restarted on its data dir; a daemon stopped with SIGTERM.</summary>
public sealed class RestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_daemon_killed_and_restarted_keeps_its_name_kills_its_leftovers_settles_their_records_and_takes_new_work()
    {
        await using var cluster = await ThreeNodes.StartAsync("--lease-ttl=2s", "--fence-timeout=4s");
        var prime = await cluster.PrimeAsync(0);
        var victim = (prime + 1) % 3;
        var victimName = cluster.NameOf(victim);
        var ns = cluster.Nodes[prime].Namespace!;
        var server = cluster.Nodes[prime].Server;
        var plain = await BulkSubmit.AddAsync(ns, server, 3, "sleep 60");
        var running = await cluster.WaitRunningAsync(prime, plain);
        var victimJob = running.Single(j => j.Value == victimName).Key;
        // "running" is recorded before the container starts (the node commits to the job first): wait for its processes.
        var leftovers = await WaitProcessesAsync(victimName, TimeSpan.FromSeconds(15));
        Assert.NotEmpty(leftovers);

        await cluster.Nodes[victim].KillAsync(); // the daemon only: its containers die with it
        await WaitGoneAsync(victimName, TimeSpan.FromSeconds(5));
        var restartedAt = DateTimeOffset.UtcNow;
        await cluster.Nodes[victim].RestartAsync();

        var settled = await cluster.WaitJobAsync(prime, victimJob, j => j.GetProperty("state").GetString() == "lost", TimeSpan.FromSeconds(30));
        output.WriteLine($"{victimName} restarted; its job ended {settled.GetProperty("state").GetString()} after {(DateTimeOffset.UtcNow - restartedAt).TotalSeconds:F1} s: {settled.GetProperty("reason").GetString()}");
        Assert.Contains(victimName, settled.GetProperty("reason").GetString());
        Assert.Empty(HostProcesses.Under($"lcluster/{victimName}"));
        Assert.All(leftovers, pid => Assert.False(HostProcesses.StillRuns(pid), $"leftover pid {pid} still runs"));
        // Their cgroups and directories, reaped: by the agent, which starts after the API serves, so the prime may settle first.
        var reapedBy = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!cluster.Nodes[victim].LogText().Contains("leftover container") && DateTime.UtcNow < reapedBy)
            await Task.Delay(100);
        Assert.Contains("leftover container", cluster.Nodes[victim].LogText());
        // It took its name back at once: the killed run's lease, noted in its data dir, revoked rather than waited out.
        Assert.Contains("of this data dir's last run revoked", cluster.Nodes[victim].LogText());
        var nodes = JsonDocument.Parse((await cluster.RunAsync(prime, "--nodes", "--json")).Stdout).RootElement.EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToList();
        Assert.Equal(3, nodes.Count);
        Assert.Contains(victimName, nodes);

        // It takes new work: six short jobs over three nodes reach it too.
        var fresh = await BulkSubmit.AddAsync(ns, server, 12, "echo fresh");
        var done = await cluster.WaitAllFinishedAsync(prime, fresh, TimeSpan.FromSeconds(60));
        Assert.All(done.Values, j => Assert.Equal("succeeded", j.GetProperty("state").GetString()));
        Assert.Contains(done.Values, j => j.GetProperty("node").GetString() == victimName);
        foreach (var id in plain.Where(id => id != victimJob))
            await cluster.RunAsync(prime, $"--removejob={id}");
    }

    [Fact]
    public async Task A_daemon_killed_alone_takes_its_containers_with_it_before_any_retry_of_their_jobs_starts()
    {
        var (cluster, prime, victim, retried, onVictim) = await RetriedJobOnAVictimAsync();
        await using var _ = cluster;

        await cluster.Nodes[victim].KillAsync();
        var goneBy = await WaitGoneAsync(cluster.NameOf(victim), TimeSpan.FromSeconds(5));

        await AssertRetriedElsewhereAfterAsync(cluster, prime, victim, onVictim, goneBy, "SIGKILLed");
        foreach (var id in retried)
            await cluster.RunAsync(prime, $"--removejob={id}");
    }

    [Fact]
    public async Task A_daemon_stopped_past_its_fence_has_its_containers_killed_by_its_guard_before_any_retry_starts()
    {
        var (cluster, prime, victim, retried, onVictim) = await RetriedJobOnAVictimAsync();
        await using var _ = cluster;
        var stopped = cluster.Nodes[victim];

        // SIGSTOP: the daemon is alive, closes nothing, and can neither renew its lease nor kill its jobs.
        await stopped.PauseAsync();
        var stoppedAt = DateTimeOffset.UtcNow;
        var goneBy = await WaitGoneAsync(stopped.NodeName, TimeSpan.FromSeconds(15));
        Assert.Equal('T', ProcessState(stopped.Pid)); // the guard did it, not the daemon
        var retryStarted = await AssertRetriedElsewhereAfterAsync(cluster, prime, victim, onVictim, goneBy, $"SIGSTOPped at {stoppedAt:HH:mm:ss.fff}");
        // Not at once: a pause within the fence timeout (4 s, less the time since the last renewal) costs nothing.
        Assert.True(goneBy - stoppedAt > TimeSpan.FromSeconds(3), $"the guard killed {(goneBy - stoppedAt).TotalSeconds:F1} s into a pause, within the fence timeout");
        Assert.Contains("lclusterd guard: the daemon has not confirmed its lease in time", stopped.LogText());
        // The node's container log has the guard's line: the container's end, long before the daemon can append its own.
        var killed = Assert.Single(ContainerLogFile.ReadNode(stopped.DataDir), e => e.Kind == "guard-kill");
        Assert.Equal(onVictim, killed.Job);
        Assert.InRange(killed.Wall, stoppedAt, retryStarted);

        // Woken, the node finds its lease gone, registers again and takes work; the job stays the retry's.
        await stopped.ResumeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!stopped.LogText().Contains("registered again", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{stopped.NodeName} did not register again within 30 s of SIGCONT\n{cluster.Logs()}");
            await Task.Delay(100);
        }
        var after = await cluster.CheckAsync(prime, onVictim);
        Assert.True(after.GetProperty("attempts").GetInt32() == 2 && after.GetProperty("state").GetString() == "running", after.ToString());
        foreach (var id in retried)
            await cluster.RunAsync(prime, $"--removejob={id}");
    }

    [Fact]
    public async Task A_second_daemon_under_a_live_nodes_name_is_refused_and_the_nodes_job_runs_on_once()
    {
        // Two daemons under one name (a cloned machine, a second one started by hand) would each take the other's jobs
        // for a dead incarnation's: requeued and run again while they still run.
        await using var etcd = await EtcdServer.StartNewAsync();
        var settings = new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "twin", ExtraArgs = ["--lease-ttl=2s", "--fence-timeout=4s"] };
        await using var first = await DaemonProcess.StartAsync(settings);
        var added = await Lcluster.TestSupport.Cli.RunAsync(first.Server, "--addjob=sleep 60", "--retries=1");
        Assert.True(added.ExitCode == 0, added.ToString());
        var id = added.Stdout.Trim();
        Assert.True((await WaitProcessesAsync(first.NodeName, TimeSpan.FromSeconds(15))).Count > 0,
            $"{(await Lcluster.TestSupport.Cli.RunAsync(first.Server, $"--checkjob={id}")).Stdout}\n{first.LogTail()}");

        var (exitCode, log) = await DaemonProcess.RunRefusedAsync(settings, TimeSpan.FromSeconds(20));

        Assert.True(exitCode == 1, $"the second daemon: exit {exitCode}\n{log}");
        Assert.Contains($"node name {first.NodeName} is held by a live lclusterd", log);
        await Task.Delay(TimeSpan.FromSeconds(3)); // past the TTL: a prime that took the job for an orphan has acted
        var job = JsonDocument.Parse((await Lcluster.TestSupport.Cli.RunAsync(first.Server, $"--checkjob={id}", "--json")).Stdout).RootElement;
        Assert.True(job.GetProperty("state").GetString() == "running" && job.GetProperty("attempts").GetInt32() == 1, $"{job}\n{first.LogTail()}");
        Assert.NotEmpty(HostProcesses.Under($"lcluster/{first.NodeName}"));
        Assert.Equal(0, (await Lcluster.TestSupport.Cli.RunAsync(first.Server, $"--removejob={id}")).ExitCode);
    }

    /// <summary>
    /// Three nodes (`--lease-ttl=2s --fence-timeout=4s`), each running one of three `sleep 60` jobs with `--retries=1`:
    /// the prime, a victim that is not it, and the job running on the victim.
    /// </summary>
    private static async Task<(ThreeNodes Cluster, int Prime, int Victim, IReadOnlyCollection<string> Retried, string OnVictim)> RetriedJobOnAVictimAsync()
    {
        var cluster = await ThreeNodes.StartAsync("--lease-ttl=2s", "--fence-timeout=4s");
        try
        {
            var prime = await cluster.PrimeAsync(0);
            var victim = (prime + 1) % 3;
            var retried = await BulkSubmit.AddAsync(cluster.Nodes[prime].Namespace!, cluster.Nodes[prime].Server, 3, "sleep 60", retries: 1);
            var running = await cluster.WaitRunningAsync(prime, retried);
            return (cluster, prime, victim, retried, running.Single(j => j.Value == cluster.NameOf(victim)).Key);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The victim's job runs again on another node, started after its first container was seen gone: when.</summary>
    private async Task<DateTimeOffset> AssertRetriedElsewhereAfterAsync(ThreeNodes cluster, int prime, int victim, string onVictim, DateTimeOffset goneBy, string fault)
    {
        var victimName = cluster.NameOf(victim);
        var again = await cluster.WaitJobAsync(prime, onVictim, j => j.GetProperty("attempts").GetInt32() == 2 && j.GetProperty("state").GetString() == "running", TimeSpan.FromSeconds(60));
        var retryStarted = DateTimeOffset.Parse(again.GetProperty("started_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"{victimName} {fault}; its containers were gone by {goneBy:HH:mm:ss.fff}; the retry started on {again.GetProperty("node").GetString()} at {retryStarted:HH:mm:ss.fff}");
        Assert.NotEqual(victimName, again.GetProperty("node").GetString());
        Assert.True(goneBy < retryStarted, $"the retry started at {retryStarted:O}, before {victimName}'s containers were seen gone at {goneBy:O}\n{cluster.Logs()}");
        return retryStarted;
    }

    /// <summary>The state letter of /proc/PID/stat (R, S, T for stopped, …).</summary>
    private static char ProcessState(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>The processes in the node's cgroups, once there are some (or none, after <paramref name="within"/>).</summary>
    private static async Task<IReadOnlyList<int>> WaitProcessesAsync(string node, TimeSpan within)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        IReadOnlyList<int> found;
        while ((found = HostProcesses.Under($"lcluster/{node}")).Count == 0 && DateTimeOffset.UtcNow < deadline)
            await Task.Delay(50);
        return found;
    }

    /// <summary>Waits until nothing runs in the node's cgroups; returns when that was seen.</summary>
    private static async Task<DateTimeOffset> WaitGoneAsync(string node, TimeSpan within)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (HostProcesses.Under($"lcluster/{node}") is { Count: > 0 } left)
        {
            if (DateTimeOffset.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"the containers of {node} outlived its daemon by {within.TotalSeconds} s: pids {string.Join(" ", left)}");
            await Task.Delay(20);
        }
        return DateTimeOffset.UtcNow;
    }

    [Fact]
    public async Task A_daemon_stopped_with_sigterm_takes_no_more_work_settles_its_jobs_leaves_and_exits_in_time()
    {
        await using var cluster = await ThreeNodes.StartAsync("--lease-ttl=2s", "--fence-timeout=4s");
        var prime = await cluster.PrimeAsync(0);
        var victim = (prime + 1) % 3;
        var victimName = cluster.NameOf(victim);
        var ns = cluster.Nodes[prime].Namespace!;
        var server = cluster.Nodes[prime].Server;
        var plain = await BulkSubmit.AddAsync(ns, server, 3, "sleep 60");
        await cluster.WaitRunningAsync(prime, plain);
        var retried = await BulkSubmit.AddAsync(ns, server, 3, "sleep 60", retries: 1);
        var running = await cluster.WaitRunningAsync(prime, [.. plain, .. retried]);
        var victimPlain = running.Single(j => plain.Contains(j.Key) && j.Value == victimName).Key;
        var victimRetried = running.Single(j => retried.Contains(j.Key) && j.Value == victimName).Key;

        var started = DateTimeOffset.UtcNow;
        var code = await cluster.Nodes[victim].TerminateAsync(TimeSpan.FromSeconds(20));
        var took = DateTimeOffset.UtcNow - started;
        output.WriteLine($"{victimName} exited {code} {took.TotalSeconds:F2} s after SIGTERM");

        Assert.Equal(0, code);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took.TotalSeconds:F1} s");
        Assert.Empty(HostProcesses.Under($"lcluster/{victimName}"));
        // Its records are right the moment it is gone: no waiting for a lease to expire.
        var lost = await cluster.CheckAsync(prime, victimPlain);
        Assert.Equal("lost", lost.GetProperty("state").GetString());
        Assert.Contains($"{victimName} shut down", lost.GetProperty("reason").GetString());
        var again = await cluster.CheckAsync(prime, victimRetried);
        Assert.True(again.GetProperty("state").GetString() is "queued" or "scheduled" or "running", again.ToString());
        Assert.NotEqual(victimName, again.GetProperty("node").ValueKind == JsonValueKind.String ? again.GetProperty("node").GetString() : "");
        var nodes = JsonDocument.Parse((await cluster.RunAsync(prime, "--nodes", "--json")).Stdout).RootElement.EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToList();
        Assert.DoesNotContain(victimName, nodes);
        var log = cluster.Nodes[victim].LogText();
        Assert.Contains("stopping: no new work", log);
        Assert.Contains("left the cluster", log);
        foreach (var id in plain.Concat(retried))
            await cluster.RunAsync(prime, $"--removejob={id}");
    }

}
