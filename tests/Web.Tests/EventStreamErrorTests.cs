using System.Text.Json;
using Lcluster.Etcd;

namespace Lcluster.Web.Tests;

/// <summary>A watch the cluster can no longer serve: once the event stream has begun, its error is an event of its own, then the end.</summary>
public sealed class EventStreamErrorTests
{
    [Fact]
    public async Task A_watch_from_a_compacted_revision_ends_with_an_out_of_range_error_event()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "compacted-web" });
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        for (var i = 0; i < 10; i++)
            await client.PutAsync($"/compaction-test/{i}", "x");
        var revision = (await client.GetAsync("/compaction-test/0")).Header.Revision;
        await client.CompactAsync(revision, physical: true);
        using var http = Http.OverSocket(daemon.HttpSocketPath);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var response = await http.GetAsync("/v1/events?start_revision=2", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var events = new ServerSentEvents(await response.Content.ReadAsStreamAsync(cancel.Token));
        var error = await events.NextAsync(cancel.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("error", error.Event);
        var body = JsonDocument.Parse(error.Data).RootElement;
        Assert.Equal("OUT_OF_RANGE", body.GetProperty("code").GetString());
        Assert.Contains("list the jobs again", body.GetProperty("message").GetString());
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await events.NextAsync(cancel.Token));
    }
}
