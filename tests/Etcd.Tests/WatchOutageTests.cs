using Lcluster.Etcd.Api;
using Lcluster.Etcd.Watching;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>Watches across broken streams: each test runs its own etcd, since it kills it or cuts the way to it.</summary>
public sealed class WatchOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Watch_survives_an_etcd_kill_and_restart_without_missing_or_repeating_an_event()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var watcher = Connect(etcd.ClientUrl);
        await using var writer = Connect(etcd.ClientUrl);
        await etcd.ExplainFailureAsync(async () =>
        {
            var start = (await writer.GetAsync("/w/x")).Header.Revision + 1;
            using var stop = new CancellationTokenSource(Waits.Long);
            var watching = WatchTests.Collect(watcher.WatchAsync("/w/", new WatchOptions { Prefix = true, StartRevision = start }, stop.Token), 10);

            for (var i = 1; i <= 5; i++)
                await writer.PutAsync("/w/k", i.ToString());
            // Killed right after the writes: the watcher may or may not have received them; it must resume either way.
            await etcd.KillAsync();
            await etcd.StartAsync();
            for (var i = 6; i <= 10; i++)
                await writer.PutAsync("/w/k", i.ToString());
            var events = await watching.Within("ten events across the restart");

            AssertExactlyOnceInOrder(events, 10);
        });
    }

    [Fact]
    public async Task Watch_resumes_through_a_cut_connection_and_delivers_what_was_written_meanwhile()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var proxy = new TcpProxy(etcd.Host, etcd.ClientPort);
        await using var watcher = Connect(proxy.Url);
        await using var writer = Connect(etcd.ClientUrl);
        await etcd.ExplainFailureAsync(async () =>
        {
            var start = (await writer.GetAsync("/w/x")).Header.Revision + 1;
            using var stop = new CancellationTokenSource(Waits.Long);
            var seen = new List<Event>();
            var firstThree = new TaskCompletionSource();
            var watching = Task.Run(async () =>
            {
                await foreach (var batch in watcher.WatchAsync("/w/", new WatchOptions { Prefix = true, StartRevision = start }, stop.Token))
                {
                    lock (seen)
                        seen.AddRange(batch.Events);
                    if (seen.Count >= 3)
                        firstThree.TrySetResult();
                    if (seen.Count >= 7)
                        return;
                }
            });

            for (var i = 1; i <= 3; i++)
                await writer.PutAsync("/w/k", i.ToString());
            await firstThree.Task.Within("the first three events");
            proxy.Sever();
            for (var i = 4; i <= 6; i++)
                await writer.PutAsync("/w/k", i.ToString());
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // let the watcher fail a reconnect or two
            proxy.Restore();
            await writer.PutAsync("/w/k", "7");
            await watching.Within("seven events across the cut");

            AssertExactlyOnceInOrder(seen, 7);
            Assert.True(proxy.Connections >= 2, $"the watcher never reconnected ({proxy.Connections} connection)");
        });
    }

    [Fact]
    public async Task Watch_that_resumes_after_its_history_was_compacted_throws_compacted()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var proxy = new TcpProxy(etcd.Host, etcd.ClientPort);
        await using var watcher = Connect(proxy.Url);
        await using var writer = Connect(etcd.ClientUrl);
        await etcd.ExplainFailureAsync(async () =>
        {
            var first = await writer.PutAsync("/w/k", "1");
            using var stop = new CancellationTokenSource(Waits.Long);
            var enumerator = watcher.WatchAsync("/w/k", new WatchOptions { StartRevision = first.Header.Revision }, stop.Token).GetAsyncEnumerator();
            try
            {
                Assert.True(await enumerator.MoveNextAsync());
                Assert.Equal("1", enumerator.Current.Events[0].Kv.ValueText);

                proxy.Sever();
                await writer.PutAsync("/w/k", "2");
                var last = await writer.PutAsync("/w/k", "3");
                await writer.CompactAsync(last.Header.Revision);
                proxy.Restore();

                var ex = await Assert.ThrowsAsync<EtcdCompactedException>(async () => await enumerator.MoveNextAsync());
                Assert.Equal(last.Header.Revision, ex.CompactRevision);
            }
            finally
            {
                await enumerator.DisposeAsync();
            }
        });
    }

    private EtcdClient Connect(string url) =>
        EtcdClient.Connect([url], new EtcdClientOptions { Log = output.WriteLine });

    /// <summary>Values 1..count written in order to one key must arrive once each, in order, at rising revisions.</summary>
    private static void AssertExactlyOnceInOrder(List<Event> events, int count)
    {
        var evidence = string.Join(", ", events.Select(e => $"{e.Kv.ValueText}@{e.Kv.ModRevision}"));
        Assert.True(events.Select(e => e.Kv.ValueText).SequenceEqual(Enumerable.Range(1, count).Select(i => i.ToString())),
            $"expected values 1..{count} once each in order, got: {evidence}");
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Kv.ModRevision < p.Second.Kv.ModRevision), $"revisions not rising: {evidence}");
    }
}
