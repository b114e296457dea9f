using System.Diagnostics;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Concurrency;
using Lcluster.Etcd.Kv;
using Lcluster.TestSupport;

namespace Lcluster.Etcd.Tests;

[Collection(SharedEtcdCollection.Name)]
public sealed class ElectionTests(SharedEtcd etcd)
{
    private readonly EtcdClient _client = etcd.Client;
    private readonly string _name = SharedEtcd.UniquePrefix(nameof(ElectionTests)) + "election";

    [Fact]
    public async Task The_first_candidate_leads_under_a_key_named_for_its_lease_and_the_next_leads_when_its_session_is_revoked()
    {
        await using var a = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        await using var b = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        var first = new Election(a, _name);
        var second = new Election(b, _name);
        using var bound = new CancellationTokenSource(Waits.Long);

        await first.CampaignAsync("a", bound.Token).Within("the first campaign");
        var waiting = second.CampaignAsync("b", bound.Token);
        await CandidatesAsync(2);
        var leaderBefore = await first.LeaderAsync();
        var secondLedEarly = waiting.IsCompleted;

        await _client.RevokeLeaseAsync(a.LeaseId);
        await waiting.Within("the second candidate's leadership after the leader's session was revoked");
        var leaderAfter = await second.LeaderAsync();

        Assert.Equal($"{_name}/{a.LeaseId:x}", first.Key);
        Assert.Equal("a", leaderBefore?.ValueText);
        Assert.False(secondLedEarly, "the second candidate led while the first still held the election");
        Assert.Equal("b", leaderAfter?.ValueText);
        Assert.Equal($"{_name}/{b.LeaseId:x}", leaderAfter?.KeyText);
        Assert.True(second.Revision > first.Revision, $"revisions {first.Revision} then {second.Revision}");
    }

    [Fact]
    public async Task A_waiter_whose_predecessor_goes_keeps_waiting_for_the_leader_and_resign_hands_over()
    {
        await using var a = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        await using var b = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        await using var c = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        var leader = new Election(a, _name);
        using var bound = new CancellationTokenSource(Waits.Long);
        await leader.CampaignAsync("a", bound.Token);
        var middle = new Election(b, _name).CampaignAsync("b", bound.Token);
        var last = new Election(c, _name);
        var lastCampaign = last.CampaignAsync("c", bound.Token);
        await CandidatesAsync(3);

        await _client.RevokeLeaseAsync(b.LeaseId); // c's predecessor goes, the leader stays
        await Task.Delay(WrongOutcomeWindow); // c now waits on a; were it to lead wrongly, it would by now
        var lastLedEarly = lastCampaign.IsCompleted;
        await leader.ResignAsync();
        await lastCampaign.Within("the last candidate's leadership after the leader resigned");

        Assert.False(lastLedEarly, "the last candidate led while the first still led");
        Assert.Equal("c", (await last.LeaderAsync())?.ValueText);
        Assert.Null(leader.Key);
        var middleFailure = await Assert.ThrowsAsync<EtcdException>(() => middle); // its session was revoked under it
        Assert.Contains(b.LeaseId.ToString("x"), middleFailure.Message);
    }

    [Fact]
    public async Task Observe_reports_the_leader_its_proclaimed_value_and_each_successor()
    {
        await using var a = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        await using var b = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        using var bound = new CancellationTokenSource(Waits.Long);
        var observer = new Election(a, _name);
        var seen = new List<string>();
        var threeSeen = new TaskCompletionSource();
        var observing = Task.Run(async () =>
        {
            await foreach (var leader in observer.ObserveAsync(bound.Token))
            {
                lock (seen)
                    seen.Add(leader.ValueText);
                if (seen.Count == 3)
                    return;
            }
        });

        var first = new Election(a, _name);
        await first.CampaignAsync("a1", bound.Token);
        var second = new Election(b, _name).CampaignAsync("b", bound.Token);
        await WaitUntil(() => { lock (seen) return seen.Contains("a1"); }, "the observer saw the first leader");
        await first.ProclaimAsync(Google.Protobuf.ByteString.CopyFromUtf8("a2"), bound.Token);
        await WaitUntil(() => { lock (seen) return seen.Contains("a2"); }, "the observer saw the proclaimed value");
        await first.ResignAsync(bound.Token);
        await second.Within("the second campaign");
        await observing.Within("three observations");

        Assert.Equal(["a1", "a2", "b"], seen);
    }

    [Fact]
    public async Task A_cancelled_campaign_withdraws_so_it_never_leads_later()
    {
        await using var a = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        await using var b = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        var leader = new Election(a, _name);
        await leader.CampaignAsync("a");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new Election(b, _name).CampaignAsync("b", cancel.Token));
        await leader.ResignAsync();

        Assert.Null(await leader.LeaderAsync());
    }

    [Fact]
    public async Task The_leadership_of_a_killed_process_passes_on_once_its_lease_runs_out()
    {
        await using var session = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        using var bound = new CancellationTokenSource(Waits.Long);
        using var candidate = StartCandidateProcess(_name, "from another process", ttlSeconds: 2);
        try
        {
            var line = await candidate.StandardOutput.ReadLineAsync(bound.Token).AsTask().Within("the candidate process's leadership");
            Assert.StartsWith($"leader {_name}/", line);
            var ours = new Election(session, _name);
            var campaign = ours.CampaignAsync("ours", bound.Token);
            await CandidatesAsync(2);
            var ledEarly = campaign.IsCompleted;
            var before = await ours.LeaderAsync();

            candidate.Kill(); // SIGKILL: no resign, no revoke; only the lease's expiry ends its leadership
            var killed = Stopwatch.StartNew();
            await campaign.Within("our leadership after the leader process was killed");

            Assert.False(ledEarly, "we led while the other process still held the election");
            Assert.Equal("from another process", before?.ValueText);
            Assert.Equal("ours", (await ours.LeaderAsync())?.ValueText);
            Assert.True(killed.Elapsed >= TimeSpan.FromSeconds(1), $"handed over {killed.Elapsed} after the kill: too soon for a lease expiry");
        }
        finally
        {
            if (!candidate.HasExited)
                candidate.Kill();
            await candidate.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Our_election_and_etcdctl_elect_on_the_same_name_see_and_follow_each_other()
    {
        await using var session = await Session.StartAsync(_client, TimeSpan.FromSeconds(5));
        using var bound = new CancellationTokenSource(Waits.Long);
        var theirs = etcd.Server.StartEtcdctl("elect", _name, "etcdctl-value");
        var keyLine = await theirs.StandardOutput.ReadLineAsync(bound.Token).AsTask().Within("etcdctl's leadership");
        var ours = new Election(session, _name);
        var leaderSeen = await ours.LeaderAsync();
        var campaign = ours.CampaignAsync("our-value", bound.Token);
        await CandidatesAsync(2);
        var ledEarly = campaign.IsCompleted;

        await Signal("-INT", theirs); // etcdctl resigns on interrupt
        await campaign.Within("our leadership after etcdctl resigned");
        var observer = etcd.Server.StartEtcdctl("elect", "--listen", _name);
        var observedKey = await observer.StandardOutput.ReadLineAsync(bound.Token).AsTask().Within("etcdctl's observation");
        var observedValue = await observer.StandardOutput.ReadLineAsync(bound.Token).AsTask().Within("etcdctl's observation");

        Assert.Equal(keyLine, leaderSeen?.KeyText);
        Assert.Equal("etcdctl-value", leaderSeen?.ValueText);
        Assert.Matches($"^{_name}/[0-9a-f]+$", keyLine);
        Assert.False(ledEarly, "we led while etcdctl still held the election");
        Assert.Equal($"{_name}/{session.LeaseId:x}", observedKey);
        Assert.Equal("our-value", observedValue);
    }

    private Process StartCandidateProcess(string name, string value, int ttlSeconds)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Requires.Program("dotnet");
        var start = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { typeof(HelperProcess).Assembly.Location, "candidate", etcd.Server.ClientUrl, name, value, ttlSeconds.ToString() },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {dotnet} as a candidate");
    }

    private static async Task Signal(string signal, Process process)
    {
        using var kill = Process.Start("/bin/kill", [signal, process.Id.ToString()]);
        await kill.WaitForExitAsync();
    }

    /// <summary>
    /// A negative check's window: how long a candidate that wrongly took the lead would need to show it (one
    /// round trip to a local etcd is about a millisecond).
    /// </summary>
    private static readonly TimeSpan WrongOutcomeWindow = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Waits until <paramref name="count"/> candidates have put their keys under the election, then for
    /// <see cref="WrongOutcomeWindow"/>: the last one has then either wrongly led or is waiting, as it should.
    /// </summary>
    private async Task CandidatesAsync(int count)
    {
        await WaitUntilAsync(async () => (await _client.GetAsync(_name + "/", new GetOptions { Prefix = true, CountOnly = true })).Count == count,
            $"{count} candidates' keys under {_name}/");
        await Task.Delay(WrongOutcomeWindow);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Waits.Long;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} did not happen within {Waits.Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Waits.Long;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} did not happen within {Waits.Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }
}
