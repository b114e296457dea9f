using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>/metrics: what the node did and what the cluster holds, in Prometheus text format, to callers the node knows.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private DaemonProcess _node = null!;

    public async Task InitializeAsync() =>
        _node = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "metrics", HttpListen = true, ExtraArgs = ["--slots=2"] });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task After_100_jobs_the_counters_and_gauges_match_what_listjobs_shows()
    {
        // 100 jobs of every ending: 80 succeed, 10 fail, 5 time out, 5 are cancelled while they run.
        var ids = new List<string>();
        async Task AddAsync(params string[] args) => ids.Add((await Cli.OkAsync(_node.Server, null, args)).Trim());
        for (var i = 0; i < 80; i++)
            await AddAsync("--addjob=true");
        for (var i = 0; i < 10; i++)
            await AddAsync("--addjob=exit 3");
        for (var i = 0; i < 5; i++)
            await AddAsync("--addjob=sleep 30", "--time=1s");
        var cancelled = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await AddAsync("--addjob=sleep 300");
            cancelled.Add(ids[^1]);
        }
        foreach (var id in cancelled)
        {
            // One at a time: each takes a slot until it is removed.
            await WaitAsync(() => StateAsync(id), s => s is "running", $"job {id} to run");
            if (id == cancelled[^1])
            {
                // The last job queued, running alone once the others ended: it holds a slot, and its node marked its
                // placement started.
                using var scraping = Http.OverSocket(_node.HttpSocketPath);
                async Task<(double Used, double Starting)> SlotsAsync()
                {
                    var now = await PrometheusText.ParseAsync(await scraping.GetStringAsync("/metrics"));
                    return (now.Value("lcluster_node_slots_used", ("node", _node.NodeName)), now.Value("lcluster_node_slots_starting", ("node", _node.NodeName)));
                }
                await WaitAsync(SlotsAsync, slots => slots.Used == 1, "the last job to run alone");
                Assert.Equal((1, 0), await SlotsAsync());
            }
            await Cli.OkAsync(_node.Server, null, $"--removejob={id}");
        }
        await WaitAsync(async () => (await ListAsync()).Count(j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled"),
            n => n == 100, "all 100 jobs to end");

        var jobs = await ListAsync();
        using var http = Http.OverSocket(_node.HttpSocketPath);
        var scrape = await http.GetAsync("/metrics");
        var text = await scrape.Content.ReadAsStringAsync();
        var samples = await PrometheusText.ParseAsync(text);

        Assert.Equal("text/plain", scrape.Content.Headers.ContentType?.MediaType);
        var byState = jobs.GroupBy(j => j.GetProperty("state").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["succeeded"] = 80, ["failed"] = 15, ["cancelled"] = 5 }, byState);
        foreach (var state in new[] { "queued", "scheduled", "running", "succeeded", "failed", "cancelled", "lost" })
        {
            var listed = byState.GetValueOrDefault(state);
            Assert.True(listed == samples.Value("lcluster_jobs", ("state", state)), $"lcluster_jobs{{state={state}}} is not {listed}:\n{text}");
            if (state is "succeeded" or "failed" or "cancelled")
                Assert.Equal(listed, samples.Value("lcluster_job_ends_total", ("state", state)));
        }
        Assert.Equal(100, samples.Value("lcluster_jobs_submitted_total"));
        Assert.Equal(100, samples.Value("lcluster_placements_total", ("node", _node.NodeName)));
        Assert.Equal(100, samples.Value("lcluster_job_starts_total"));
        Assert.Equal(5, samples.Value("lcluster_job_timeouts_total"));
        Assert.Equal(100, samples.Value("lcluster_job_submit_to_running_duration_seconds_count"));
        Assert.Equal(100, samples.Value("lcluster_job_start_duration_seconds_count"));
        Assert.Equal(100, samples.Value("lcluster_job_start_duration_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(0, samples.Value("lcluster_queue_depth"));
        Assert.Equal(1, samples.Value("lcluster_prime_changes_total"));
        Assert.Equal(1, samples.Value("lcluster_node_prime", ("node", _node.NodeName)));
        Assert.Equal(2, samples.Value("lcluster_node_slots", ("node", _node.NodeName)));
        Assert.Equal(0, samples.Value("lcluster_node_slots_used", ("node", _node.NodeName)));
        Assert.Equal(0, samples.Value("lcluster_node_slots_starting", ("node", _node.NodeName)));
        Assert.True(samples.Value("lcluster_node_memory_bytes", ("node", _node.NodeName)) > 0);
        Assert.True(samples.Value("lcluster_etcd_request_duration_seconds_count", ("op", "Txn")) >= 100 * 3, "each job takes several Txns");
        Assert.DoesNotContain(samples, s => s.Name == "lcluster_etcd_request_errors_total" && s.Value > 0);
    }

    [Fact]
    public async Task An_idle_prime_makes_a_round_a_second_and_no_more()
    {
        using var http = Http.OverSocket(_node.HttpSocketPath);
        async Task<double> RoundsAsync() => (await PrometheusText.ParseAsync(await http.GetStringAsync("/metrics"))).Value("lcluster_prime_rounds_total");
        await WaitAsync(RoundsAsync, n => n >= 1, "the prime's first round");
        // Past the node's start: its registration's writes, seen on the prime's watch, make rounds of their own. Idle
        // is a second with at most one round in it.
        for (var tries = 0; ; tries++)
        {
            var start = await RoundsAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (await RoundsAsync() - start <= 1)
                break;
            Assert.True(tries < 20, "the prime never settled to a round a second");
        }

        var before = await RoundsAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var made = await RoundsAsync() - before;

        // Nothing changes in etcd meanwhile, so only the prime's once-a-second tick makes rounds: 3 to 5 in 4 s.
        Assert.InRange(made, 3, 5);
    }

    [Fact]
    public async Task Metrics_over_tcp_need_an_identity_and_a_dashboard_token_is_one()
    {
        using var tcp = Http.OverTcp(_node.HttpAddress);
        var token = await Http.SignInAsync(tcp, new Uri((await Cli.OkAsync(_node.Server, null, "--dashboard")).Trim()));

        var stranger = await Http.SendAsync(tcp, HttpMethod.Get, "/metrics");
        var signedIn = await Http.SendAsync(tcp, HttpMethod.Get, "/metrics", bearer: token);

        Assert.Equal((401, "UNAUTHENTICATED"), (stranger.Status, stranger.Json.GetProperty("code").GetString()));
        Assert.Equal(200, signedIn.Status);
        Assert.Contains(await PrometheusText.ParseAsync(signedIn.Body), s => s.Name == "lcluster_jobs");
    }

    private async Task<List<JsonElement>> ListAsync() =>
        JsonDocument.Parse(await Cli.OkAsync(_node.Server, null, "--listjobs", "--json")).RootElement.EnumerateArray().Select(j => j.Clone()).ToList();

    private async Task<string> StateAsync(string id) =>
        JsonDocument.Parse(await Cli.OkAsync(_node.Server, null, $"--checkjob={id}", "--json")).RootElement.GetProperty("state").GetString()!;

    private async Task WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        T now;
        do
        {
            now = await read();
            if (done(now))
                return;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        throw new Xunit.Sdk.XunitException($"waited 120s for {what}; last: {now}\n{_node.LogTail()}");
    }
}
