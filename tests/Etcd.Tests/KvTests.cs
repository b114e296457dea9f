using System.Text.Json;
using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using SortOrder = Lcluster.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = Lcluster.Etcd.Api.RangeRequest.Types.SortTarget;

namespace Lcluster.Etcd.Tests;

[Collection(SharedEtcdCollection.Name)]
public sealed class KvTests(SharedEtcd etcd)
{
    private readonly EtcdClient _client = etcd.Client;
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(KvTests));

    [Fact]
    public async Task Put_then_Get_returns_the_value_and_the_keys_revisions_and_version()
    {
        var first = await _client.PutAsync(_p + "k", "one");
        var second = await _client.PutAsync(_p + "k", "two");

        var got = await _client.GetAsync(_p + "k");

        var kv = Assert.Single(got.Kvs);
        Assert.Equal(_p + "k", kv.KeyText);
        Assert.Equal("two", kv.ValueText);
        Assert.Equal(first.Header.Revision, kv.CreateRevision);
        Assert.Equal(second.Header.Revision, kv.ModRevision);
        Assert.Equal(2, kv.Version);
        Assert.Equal(0, kv.Lease);
        Assert.True(second.Header.Revision > first.Header.Revision, $"revisions {first.Header.Revision} then {second.Header.Revision}");
        Assert.Equal(second.Header.Revision, got.Header.Revision);
        Assert.NotEqual(0ul, got.Header.ClusterId);
        Assert.NotEqual(0ul, got.Header.MemberId);
    }

    [Fact]
    public async Task Status_reports_the_raft_indexes_a_write_moves_committed_then_applied()
    {
        var before = await _client.StatusAsync();
        var put = await _client.PutAsync(_p + "status", "v");
        var after = await _client.StatusAsync();

        Assert.False(string.IsNullOrEmpty(after.Version));
        Assert.InRange(before.RaftAppliedIndex, 1UL, before.RaftIndex);
        // The put was committed after the first status and applied before its answer: both indexes passed it.
        Assert.True(after.RaftIndex > before.RaftIndex, $"committed {before.RaftIndex} -> {after.RaftIndex}");
        Assert.True(after.RaftAppliedIndex > before.RaftIndex, $"applied {after.RaftAppliedIndex}, committed before the put {before.RaftIndex}");
        Assert.True(after.Header.Revision >= put.Header.Revision);
    }

    [Fact]
    public async Task Get_of_a_missing_key_returns_no_kvs()
    {
        var got = await _client.GetAsync(_p + "missing");

        Assert.Empty(got.Kvs);
        Assert.Equal(0, got.Count);
    }

    [Fact]
    public async Task Get_with_prefix_returns_exactly_the_keys_under_it_in_key_order()
    {
        foreach (var key in new[] { "dir/b", "dir/a", "dir/c", "dir0", "di" })
            await _client.PutAsync(_p + key, key);

        var got = await _client.GetAsync(_p + "dir/", new GetOptions { Prefix = true });

        Assert.Equal(["dir/a", "dir/b", "dir/c"], got.Kvs.Select(kv => kv.KeyText[_p.Length..]));
        Assert.Equal(3, got.Count);
        Assert.False(got.More);
    }

    [Fact]
    public async Task Get_with_limit_returns_that_many_says_more_and_counts_all()
    {
        for (var i = 0; i < 5; i++)
            await _client.PutAsync($"{_p}{i}", "v");

        var got = await _client.GetAsync(_p, new GetOptions { Prefix = true, Limit = 2 });

        Assert.Equal([_p + "0", _p + "1"], got.Kvs.Select(kv => kv.KeyText));
        Assert.True(got.More);
        Assert.Equal(5, got.Count);
    }

    [Fact]
    public async Task Get_at_a_revision_reads_the_value_as_it_was_then()
    {
        var old = await _client.PutAsync(_p + "k", "old");
        await _client.PutAsync(_p + "k", "new");

        var then = await _client.GetAsync(_p + "k", new GetOptions { Revision = old.Header.Revision });

        Assert.Equal("old", Assert.Single(then.Kvs).ValueText);
    }

    [Fact]
    public async Task Get_keys_only_omits_values_and_count_only_omits_keys()
    {
        await _client.PutAsync(_p + "a", "value-a");
        await _client.PutAsync(_p + "b", "value-b");

        var keys = await _client.GetAsync(_p, new GetOptions { Prefix = true, KeysOnly = true });
        var count = await _client.GetAsync(_p, new GetOptions { Prefix = true, CountOnly = true });

        Assert.Equal([_p + "a", _p + "b"], keys.Kvs.Select(kv => kv.KeyText));
        Assert.All(keys.Kvs, kv => Assert.True(kv.Value.IsEmpty, $"{kv.KeyText} came with value '{kv.ValueText}'"));
        Assert.Empty(count.Kvs);
        Assert.Equal(2, count.Count);
    }

    [Fact]
    public async Task Get_sorted_by_create_revision_and_bounded_by_max_create_revision()
    {
        // Created in the order c, a, b: create order differs from key order.
        await _client.PutAsync(_p + "c", "1");
        var a = await _client.PutAsync(_p + "a", "2");
        await _client.PutAsync(_p + "b", "3");

        var newestFirst = await _client.GetAsync(_p, new GetOptions { Prefix = true, SortTarget = SortTarget.Create, SortOrder = SortOrder.Descend });
        var upToA = await _client.GetAsync(_p, new GetOptions
        {
            Prefix = true, SortTarget = SortTarget.Create, SortOrder = SortOrder.Descend, MaxCreateRevision = a.Header.Revision,
        });
        var serializable = await _client.GetAsync(_p, new GetOptions { Prefix = true, Serializable = true });

        Assert.Equal(["b", "a", "c"], newestFirst.Kvs.Select(kv => kv.KeyText[_p.Length..]));
        Assert.Equal(["a", "c"], upToA.Kvs.Select(kv => kv.KeyText[_p.Length..]));
        Assert.Equal(3, serializable.Count);
    }

    [Fact]
    public async Task Put_with_prev_kv_returns_the_value_it_replaced()
    {
        await _client.PutAsync(_p + "k", "before");

        var put = await _client.PutAsync(_p + "k", "after", prevKv: true);
        var fresh = await _client.PutAsync(_p + "fresh", "x", prevKv: true);

        Assert.Equal("before", put.PrevKv?.ValueText);
        Assert.Null(fresh.PrevKv);
    }

    [Fact]
    public async Task Put_stores_arbitrary_bytes_unchanged()
    {
        var bytes = ByteString.CopyFrom([0, 1, 0xff, 0xfe, 0x80, (byte)'\n']);

        await _client.PutAsync(_p + "bin", bytes);

        Assert.Equal(bytes, Assert.Single((await _client.GetAsync(_p + "bin")).Kvs).Value);
    }

    [Fact]
    public async Task Delete_of_a_key_and_of_a_prefix_report_what_they_deleted()
    {
        foreach (var key in new[] { "one", "dir/a", "dir/b", "dir0" })
            await _client.PutAsync(_p + key, "v-" + key);

        var one = await _client.DeleteAsync(_p + "one", prevKv: true);
        var dir = await _client.DeleteAsync(_p + "dir/", prefix: true);
        var none = await _client.DeleteAsync(_p + "one");

        Assert.Equal(1, one.Deleted);
        Assert.Equal("v-one", Assert.Single(one.PrevKvs).ValueText);
        Assert.Equal(2, dir.Deleted);
        Assert.Empty(dir.PrevKvs);
        Assert.Equal(0, none.Deleted);
        var left = await _client.GetAsync(_p, new GetOptions { Prefix = true });
        Assert.Equal([_p + "dir0"], left.Kvs.Select(kv => kv.KeyText));
    }

    [Fact]
    public async Task Get_at_a_compacted_revision_throws_compacted()
    {
        var old = await _client.PutAsync(_p + "k", "old");
        var now = await _client.PutAsync(_p + "k", "new");
        await _client.CompactAsync(now.Header.Revision, physical: true);

        var ex = await Assert.ThrowsAsync<EtcdCompactedException>(() =>
            _client.GetAsync(_p + "k", new GetOptions { Revision = old.Header.Revision }));

        Assert.Contains("compacted", ex.Message);
        Assert.Contains(etcd.Server.ClientUrl, ex.Message);
    }

    [Fact]
    public async Task An_empty_key_is_refused_before_anything_is_sent()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.GetAsync(""));

        Assert.Equal("key", ex.ParamName);
    }

    [Fact]
    public async Task What_we_write_etcdctl_reads_field_for_field_and_the_other_way_round()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(60));
        await _client.PutAsync(_p + "ours", "first");
        var put = await _client.PutAsync(_p + "ours", "from us", lease: lease.ID);
        await etcd.Server.EtcdctlAsync("put", _p + "theirs", "from etcdctl");

        using var json = JsonDocument.Parse(await etcd.Server.EtcdctlAsync("get", _p + "ours", "-w", "json"));
        var theirs = Assert.Single((await _client.GetAsync(_p + "theirs")).Kvs);
        var theirsJson = JsonDocument.Parse(await etcd.Server.EtcdctlAsync("get", _p + "theirs", "-w", "json"));

        var seen = json.RootElement.GetProperty("kvs")[0];
        Assert.Equal(_p + "ours", Base64(seen, "key"));
        Assert.Equal("from us", Base64(seen, "value"));
        Assert.Equal(put.Header.Revision, seen.GetProperty("mod_revision").GetInt64());
        Assert.Equal(put.Header.Revision - 1, seen.GetProperty("create_revision").GetInt64());
        Assert.Equal(2, seen.GetProperty("version").GetInt64());
        Assert.Equal(lease.ID, seen.GetProperty("lease").GetInt64());
        var theirsSeen = theirsJson.RootElement.GetProperty("kvs")[0];
        Assert.Equal("from etcdctl", theirs.ValueText);
        Assert.Equal(theirsSeen.GetProperty("create_revision").GetInt64(), theirs.CreateRevision);
        Assert.Equal(theirsSeen.GetProperty("mod_revision").GetInt64(), theirs.ModRevision);
        await _client.RevokeLeaseAsync(lease.ID);
    }

    private static string Base64(JsonElement kv, string field) =>
        System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty(field).GetString()!));

    [Fact]
    public async Task Scan_reads_every_key_of_a_prefix_in_pages_all_at_the_first_pages_revision()
    {
        for (var i = 0; i < 7; i++)
            await _client.PutAsync($"{_p}scan/{i}", "v");

        var keys = new List<string>();
        var revisions = new HashSet<long>();
        await foreach (var page in _client.ScanAsync(_p + "scan/", pageSize: 3))
        {
            Assert.InRange(page.Kvs.Count, 1, 3);
            keys.AddRange(page.Kvs.Select(kv => kv.KeyText));
            revisions.Add(page.Revision);
            await _client.PutAsync($"{_p}scan/{keys.Count}-later", "written between pages"); // not in the scan
        }

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"{_p}scan/{i}"), keys);
        Assert.Single(revisions);
    }

    [Fact]
    public async Task Scan_of_a_prefix_ending_in_7f_reads_no_key_past_it()
    {
        // Raised, 0x7F is 0x80, which is no UTF-8: a range end that went through a string became U+FFFD's three bytes,
        // and took in every key from 0x80 up to them.
        await _client.PutAsync(_p + "scan\u007f/1", "in");
        await _client.PutAsync(_p + "scan\u00e9", "past the prefix");

        var keys = new List<string>();
        await foreach (var page in _client.ScanAsync(_p + "scan\u007f"))
            keys.AddRange(page.Kvs.Select(kv => kv.KeyText));

        Assert.Equal([_p + "scan\u007f/1"], keys);
    }
}
