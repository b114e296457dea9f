using Lcluster.Etcd.Api;
using Lcluster.Etcd.Concurrency;
using Lcluster.Etcd.Watching;

namespace Lcluster.Etcd.Tests;

[Collection(SharedEtcdCollection.Name)]
public sealed class LeaseTests(SharedEtcd etcd)
{
    private readonly EtcdClient _client = etcd.Client;
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(LeaseTests));

    [Fact]
    public async Task Grant_then_time_to_live_reports_the_ttl_and_the_keys_attached()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(30));
        await _client.PutAsync(_p + "a", "1", lease: lease.ID);
        await _client.PutAsync(_p + "b", "2", lease: lease.ID);

        var ttl = await _client.LeaseTimeToLiveAsync(lease.ID, keys: true);
        var bare = await _client.LeaseTimeToLiveAsync(lease.ID);

        Assert.NotEqual(0, lease.ID);
        Assert.Equal(30, lease.TTL);
        Assert.Equal(lease.ID, ttl.ID);
        Assert.InRange(ttl.TTL, 1, 30);
        Assert.Equal(30, ttl.GrantedTTL);
        Assert.Equal([_p + "a", _p + "b"], ttl.Keys.Select(k => k.ToStringUtf8()).Order());
        Assert.Empty(bare.Keys);
        Assert.Equal(lease.ID, Assert.Single((await _client.GetAsync(_p + "a")).Kvs).Lease);
        await _client.RevokeLeaseAsync(lease.ID);
    }

    [Fact]
    public async Task A_lease_that_expires_takes_its_keys_with_it()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(2));
        var put = await _client.PutAsync(_p + "k", "v", lease: lease.ID);

        var deleted = await FirstEventAsync(_p + "k", put.Header.Revision + 1).Within("the key's deletion by lease expiry");

        Assert.Equal(Event.Types.EventType.Delete, deleted.Type);
        Assert.Empty((await _client.GetAsync(_p + "k")).Kvs);
        Assert.Equal(-1, (await _client.LeaseTimeToLiveAsync(lease.ID)).TTL);
        var ex = await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => _client.PutAsync(_p + "k", "again", lease: lease.ID));
        Assert.Equal(lease.ID, ex.LeaseId);
        Assert.Contains(lease.ID.ToString("x"), ex.Message);
    }

    [Fact]
    public async Task Revoke_deletes_the_keys_at_once_and_a_second_revoke_says_the_lease_was_gone()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(60));
        await _client.PutAsync(_p + "k", "v", lease: lease.ID);

        var first = await _client.RevokeLeaseAsync(lease.ID);
        var second = await _client.RevokeLeaseAsync(lease.ID);

        Assert.True(first);
        Assert.False(second);
        Assert.Empty((await _client.GetAsync(_p + "k")).Kvs);
    }

    [Fact]
    public async Task KeepAlive_keeps_a_lease_and_its_keys_well_past_its_ttl_and_stops_when_disposed()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(2));
        var put = await _client.PutAsync(_p + "k", "v", lease: lease.ID);
        var keepAlive = _client.KeepAlive(lease.ID, TimeSpan.FromSeconds(lease.TTL));

        await Task.Delay(TimeSpan.FromSeconds(4)); // twice the TTL
        var alive = await _client.LeaseTimeToLiveAsync(lease.ID);
        var key = await _client.GetAsync(_p + "k");
        await keepAlive.DisposeAsync();
        var deleted = await FirstEventAsync(_p + "k", put.Header.Revision + 1).Within("expiry once keep-alive stopped");

        Assert.False(keepAlive.Lost.IsCancellationRequested, keepAlive.LostReason);
        Assert.InRange(alive.TTL, 0, 2); // -1 would mean gone
        Assert.Single(key.Kvs);
        Assert.Equal(TimeSpan.FromSeconds(2), keepAlive.Ttl);
        Assert.Equal(Event.Types.EventType.Delete, deleted.Type);
    }

    [Fact]
    public async Task Session_lost_fires_when_its_lease_is_revoked_elsewhere()
    {
        await using var session = await Session.StartAsync(_client, TimeSpan.FromSeconds(3));
        var lost = new TaskCompletionSource();
        session.Lost.Register(() => lost.TrySetResult());

        await _client.RevokeLeaseAsync(session.LeaseId);

        await lost.Task.Within("the session's Lost signal");
        Assert.Contains("gone", session.LostReason);
    }

    [Fact]
    public async Task Session_disposal_revokes_its_lease_so_its_keys_go_at_once()
    {
        var session = await Session.StartAsync(_client, TimeSpan.FromSeconds(30));
        await _client.PutAsync(_p + "k", "v", lease: session.LeaseId);

        await session.DisposeAsync();

        Assert.Empty((await _client.GetAsync(_p + "k")).Kvs);
        Assert.Equal(-1, (await _client.LeaseTimeToLiveAsync(session.LeaseId)).TTL);
        Assert.False(session.Lost.IsCancellationRequested, session.LostReason);
    }

    [Fact]
    public async Task Grant_of_a_non_positive_ttl_is_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.GrantLeaseAsync(TimeSpan.Zero));

        Assert.Contains("positive TTL", ex.Message);
    }

    private async Task<Event> FirstEventAsync(string key, long fromRevision)
    {
        await foreach (var batch in _client.WatchAsync(key, new WatchOptions { StartRevision = fromRevision }, Waits.Bound()))
        {
            if (batch.Events.Count > 0)
                return batch.Events[0];
        }
        throw new InvalidOperationException("the watch ended without an event");
    }
}
