using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using EventType = Lcluster.Etcd.Api.Event.Types.EventType;

namespace Lcluster.Etcd.Tests;

[Collection(SharedEtcdCollection.Name)]
public sealed class WatchTests(SharedEtcd etcd)
{
    private readonly EtcdClient _client = etcd.Client;
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(WatchTests));

    [Fact]
    public async Task Watch_on_a_prefix_sees_puts_and_deletes_in_order_with_previous_values()
    {
        var start = (await _client.GetAsync(_p + "x")).Header.Revision + 1;
        using var stop = new CancellationTokenSource(Waits.Long);
        var watching = Collect(_client.WatchAsync(_p + "d/", new WatchOptions { Prefix = true, StartRevision = start, PrevKv = true }, stop.Token), 6);

        await _client.PutAsync(_p + "d/a", "1");
        await _client.PutAsync(_p + "d/b", "2");
        await _client.PutAsync(_p + "outside", "never seen");
        await _client.DeleteAsync(_p + "d/a");
        await _client.PutAsync(_p + "d/a", "3");
        await _client.TxnAsync(Txn.If().Then(Op.Put(_p + "d/c", "4"), Op.Delete(_p + "d/b")));
        var events = await watching.Within("six watch events");

        Assert.Equal(
            ["PUT d/a 1", "PUT d/b 2", "DELETE d/a ", "PUT d/a 3", "PUT d/c 4", "DELETE d/b "],
            events.Select(e => $"{(e.Type == EventType.Put ? "PUT" : "DELETE")} {e.Kv.KeyText[_p.Length..]} {e.Kv.ValueText}"));
        Assert.Equal("1", events[2].PrevKv.ValueText);
        Assert.Null(events[0].PrevKv);
        Assert.Equal("2", events[5].PrevKv.ValueText);
        Assert.Equal(events[4].Kv.ModRevision, events[5].Kv.ModRevision); // one txn, one revision
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Kv.ModRevision <= p.Second.Kv.ModRevision),
            "revisions out of order: " + string.Join(", ", events.Select(e => e.Kv.ModRevision)));
    }

    /// <summary>
    /// A watch that catches up sends up to a thousand revisions in one response, which can exceed gRPC's default 4 MiB:
    /// the client takes any message etcd sends (as etcd's own Go client does), or such a watch could never catch up.
    /// </summary>
    [Fact]
    public async Task A_watch_catching_up_takes_a_response_of_more_than_4_MiB()
    {
        var start = (await _client.GetAsync(_p + "x")).Header.Revision + 1;
        var value = new string('v', 1 << 20);
        for (var i = 0; i < 6; i++)
            await _client.PutAsync(_p + $"big/{i}", value);
        using var stop = new CancellationTokenSource(Waits.Long);

        var events = await Collect(_client.WatchAsync(_p + "big/", new WatchOptions { Prefix = true, StartRevision = start }, stop.Token), 6)
            .Within("six events of 1 MiB each, sent at once");

        Assert.Equal(6, events.Count);
        Assert.All(events, e => Assert.Equal(1 << 20, e.Kv.Value.Length));
    }

    [Fact]
    public async Task Watch_on_one_key_sees_only_that_key()
    {
        var start = (await _client.GetAsync(_p + "x")).Header.Revision + 1;
        using var stop = new CancellationTokenSource(Waits.Long);
        var watching = Collect(_client.WatchAsync(_p + "k", new WatchOptions { StartRevision = start }, stop.Token), 2);

        await _client.PutAsync(_p + "k2", "no");
        await _client.PutAsync(_p + "k", "yes 1");
        await _client.PutAsync(_p + "j", "no");
        await _client.PutAsync(_p + "k", "yes 2");
        var events = await watching.Within("two watch events");

        Assert.Equal(["yes 1", "yes 2"], events.Select(e => e.Kv.ValueText));
    }

    [Fact]
    public async Task Watch_from_a_past_revision_replays_history_first()
    {
        var first = await _client.PutAsync(_p + "k", "a");
        await _client.PutAsync(_p + "k", "b");
        await _client.PutAsync(_p + "k", "c");
        using var stop = new CancellationTokenSource(Waits.Long);

        var events = await Collect(_client.WatchAsync(_p + "k", new WatchOptions { StartRevision = first.Header.Revision + 1 }, stop.Token), 2)
            .Within("the replay of two past events");

        Assert.Equal(["b", "c"], events.Select(e => e.Kv.ValueText));
    }

    [Fact]
    public async Task Watch_with_progress_notify_reports_progress_while_nothing_changes()
    {
        var now = (await _client.PutAsync(_p + "other", "x")).Header.Revision;
        using var stop = new CancellationTokenSource(Waits.Long);

        WatchEvents? progress = null;
        await foreach (var batch in _client.WatchAsync(_p + "quiet", new WatchOptions { ProgressNotify = true }, stop.Token))
        {
            progress = batch;
            break;
        }

        Assert.NotNull(progress);
        Assert.True(progress.IsProgressNotify, $"expected a progress notification, got {progress.Events.Count} events");
        Assert.True(progress.Revision >= now, $"progress at revision {progress.Revision}, store was at {now}");
    }

    [Fact]
    public async Task Watch_from_a_compacted_revision_throws_compacted_with_the_oldest_revision_left()
    {
        var old = await _client.PutAsync(_p + "k", "old");
        var now = await _client.PutAsync(_p + "k", "new");
        await _client.CompactAsync(now.Header.Revision);
        using var stop = new CancellationTokenSource(Waits.Long);

        var ex = await Assert.ThrowsAsync<EtcdCompactedException>(() =>
            Collect(_client.WatchAsync(_p + "k", new WatchOptions { StartRevision = old.Header.Revision }, stop.Token), 1));

        Assert.Equal(now.Header.Revision, ex.CompactRevision);
        Assert.Contains("re-read", ex.Message);
    }

    [Fact]
    public async Task Cancelling_a_watch_ends_it_with_OperationCanceled()
    {
        using var stop = new CancellationTokenSource();
        var watching = Collect(_client.WatchAsync(_p + "k", cancellationToken: stop.Token), 1);

        stop.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.Within("the watch's end on cancel"));
    }

    internal static async Task<List<Event>> Collect(IAsyncEnumerable<WatchEvents> watch, int count)
    {
        var events = new List<Event>();
        await foreach (var batch in watch)
        {
            events.AddRange(batch.Events);
            if (events.Count >= count)
                return events;
        }
        return events;
    }
}
