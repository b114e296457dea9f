using Grpc.Core;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Web.Tests;

/// <summary>
/// ListJobs from a node's in-memory view of the jobs (docs/etcd-keys.md, "Listings"): as fresh as
/// a read of etcd, whichever node wrote, and counted in /metrics by where each page came from.
/// </summary>
public sealed class ListingViewTests
{
    [Fact]
    public async Task A_node_lists_from_its_view_every_job_another_node_recorded_before_the_call_in_its_current_state()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var writer = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "writer", ExtraArgs = ["--slots=2"] });
        await using var lister = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "lister", HttpListen = true, ExtraArgs = ["--slots=2"] });
        using var writerChannel = NodeChannel.Open(writer.Server);
        using var listerChannel = NodeChannel.Open(lister.Server);
        var add = new Lclusterd.LclusterdClient(writerChannel);
        var list = new Lclusterd.LclusterdClient(listerChannel);
        var name = "view-" + Guid.NewGuid().ToString("N")[..8];

        // The first listing starts the lister's view; it is read from etcd while the view loads.
        await list.ListJobsAsync(new ListJobsRequest { PageSize = 1 });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!lister.LogText().Contains("listing view loaded: ", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the lister never loaded its view\n{lister.LogTail()}");
            await Task.Delay(100);
        }
        var before = await ScrapeAsync(lister);

        // Each job is listed by the other node right after its AddJob returns: the view waits for the change it has not seen yet.
        var ids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            ids.Add((await add.AddJobAsync(new AddJobRequest { Command = "true", Name = name })).Id);
            var page = await list.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 1000 });
            Assert.Equal(ids.Order(), page.Jobs.Select(j => j.Id).Order());
        }

        // Their transitions reach the view too: once they end, each is listed as CheckJob shows it, page by page.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await list.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 1000 })).Jobs.Count(j => JobStates.IsFinished(j.State)) < ids.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the jobs did not all end within 60 s\n{writer.LogTail()}");
            await Task.Delay(200);
        }
        var listed = new List<Job>();
        var token = "";
        long firstRevision = 0;
        do
        {
            var page = await list.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 7, PageToken = token });
            listed.AddRange(page.Jobs);
            if (token.Length == 0)
            {
                // A change after the first page: every page still answers the first page's revision, from which a
                // watch sees every change made while the listing went on.
                firstRevision = page.Revision;
                var other = (await add.AddJobAsync(new AddJobRequest { Command = "true", Name = name + "-other" })).Id;
                while (!JobStates.IsFinished((await add.CheckJobAsync(new CheckJobRequest { Id = other })).State))
                    await Task.Delay(100);
            }
            Assert.Equal(firstRevision, page.Revision);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(ids.AsEnumerable().Reverse(), listed.Select(j => j.Id)); // newest submission first
        foreach (var job in listed)
            Assert.Equal((await add.CheckJobAsync(new CheckJobRequest { Id = job.Id })).State, job.State);

        // Those pages came from the view: none because it disagreed with etcd, and from etcd only those it took over a
        // second to catch up for (a machine too busy to deliver a watch event in time), each of which the node logs.
        var after = await ScrapeAsync(lister);
        var fromView = Pages(after, "view") - Pages(before, "view");
        var fromEtcd = Pages(after, "etcd") - Pages(before, "etcd");
        var log = lister.LogText();
        var late = log.Split('\n').Count(l => l.Contains("listing view: still at revision", StringComparison.Ordinal));
        Assert.DoesNotContain("in the view and", log);
        Assert.True(fromView + fromEtcd >= 40 + 1 + 6 && fromEtcd == late && fromView > fromEtcd,
            $"pages from the view {fromView}, from etcd {fromEtcd}, late views {late}\n{lister.LogTail()}");

        // A page's revision is where a watch takes over: from it + 1, the next change is the first event. Removing a
        // finished job deletes it, from etcd and from the view.
        var at = (await list.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 1000 })).Revision;
        using var watching = list.WatchJobs(new WatchJobsRequest { StartRevision = at + 1 });
        var removed = ids[^1];
        await add.RemoveJobAsync(new RemoveJobRequest { Id = removed });
        using var within = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.True(await watching.ResponseStream.MoveNext(within.Token));
        Assert.Equal((removed, true), (watching.ResponseStream.Current.Job.Id, watching.ResponseStream.Current.Deleted));
        var remaining = await list.ListJobsAsync(new ListJobsRequest { Name = name, PageSize = 1000 });
        Assert.Equal(ids.SkipLast(1).Order(), remaining.Jobs.Select(j => j.Id).Order());
        Assert.DoesNotContain("in the view and", lister.LogText());
    }

    /// <summary>lcluster_listings_total of a source; 0 before the first page of it (the counter has no sample yet).</summary>
    private static double Pages(IReadOnlyList<Sample> samples, string source) =>
        samples.Where(s => s.Name == "lcluster_listings_total" && s.Labels.GetValueOrDefault("source") == source).Sum(s => s.Value);

    private static async Task<IReadOnlyList<Sample>> ScrapeAsync(DaemonProcess node)
    {
        using var http = Http.OverSocket(node.HttpSocketPath);
        return await PrometheusText.ParseAsync(await http.GetStringAsync("/metrics"));
    }
}
