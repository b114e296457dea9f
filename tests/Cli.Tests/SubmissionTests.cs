using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// AddJob under concurrency: submissions that arrive together share etcd Txns (docs/performance.md), and each still
/// creates its own job exactly once, answered to its own caller; a request sent again with its request_id creates nothing.
/// </summary>
[Collection("single node")]
public sealed class SubmissionTests(SingleNode node)
{
    private Lclusterd.LclusterdClient Client => node.Client;

    [Fact]
    public async Task A_burst_of_submissions_creates_each_job_once_and_answers_each_caller_its_own_id()
    {
        const int Requests = 96;
        var name = "burst-" + Guid.NewGuid().ToString("N")[..8];
        // Every request twice at once (a client that retried while its first call was in flight), all 192 calls together.
        AddJobRequest Request(int i) => new()
        {
            Command = "true", Name = name, RequestId = $"{name}-{i}", Env = { ["REQUEST"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        var calls = Enumerable.Range(0, Requests).SelectMany(i => new[] { (i, Client.AddJobAsync(Request(i)).ResponseAsync), (i, Client.AddJobAsync(Request(i)).ResponseAsync) }).ToList();
        await Task.WhenAll(calls.Select(c => c.Item2));
        var ids = calls.GroupBy(c => c.i).ToDictionary(g => g.Key, g => g.Select(c => c.Item2.Result.Id).Distinct().ToList());
        Assert.All(ids, pair => Assert.True(pair.Value.Count == 1, $"request {pair.Key} was answered with two ids: {string.Join(", ", pair.Value)}"));
        Assert.Equal(Requests, ids.Values.Select(v => v[0]).Distinct().Count());

        // Each id is the job its own request described, and the cluster holds exactly one job per request.
        foreach (var (i, id) in ids.Select(p => (p.Key, p.Value[0])))
        {
            var job = await Client.CheckJobAsync(new CheckJobRequest { Id = id });
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), job.Env["REQUEST"]);
        }
        Assert.Equal(Requests, await CountNamedAsync(name));

        // Sent again once they exist: the same ids, nothing new.
        var again = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Client.AddJobAsync(Request(i)).ResponseAsync));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => ids[i][0]), again.Select(r => r.Id));
        Assert.Equal(Requests, await CountNamedAsync(name));

        // The shared node's two slots are free again before the next test of its collection.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await CountNamedAsync(name, JobStates.IsFinished) < Requests)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the {Requests} jobs of the burst did not all finish within 60 s");
            await Task.Delay(200);
        }
    }

    private async Task<int> CountNamedAsync(string name, Func<JobState, bool>? state = null) =>
        (await Client.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 1000 })).Jobs.Count(j => state is null || state(j.State));
}
