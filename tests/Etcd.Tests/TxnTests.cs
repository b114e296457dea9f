using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;

namespace Lcluster.Etcd.Tests;

[Collection(SharedEtcdCollection.Name)]
public sealed class TxnTests(SharedEtcd etcd)
{
    private readonly EtcdClient _client = etcd.Client;
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(TxnTests));

    [Fact]
    public async Task A_fenced_transition_applies_when_the_revision_it_read_still_holds()
    {
        var read = await _client.PutAsync(_p + "job", "queued");
        await _client.PutAsync(_p + "queue", "job");

        var txn = await _client.TxnAsync(Txn.If(Cmp.ModRevision(_p + "job") == read.Header.Revision)
            .Then(Op.Put(_p + "job", "scheduled"), Op.Delete(_p + "queue"))
            .Else(Op.Get(_p + "job")));

        Assert.True(txn.Succeeded);
        Assert.Equal(2, txn.Responses.Count);
        Assert.Equal(ResponseOp.ResponseOneofCase.ResponsePut, txn.Responses[0].ResponseCase);
        Assert.Equal(1, txn.Responses[1].ResponseDeleteRange.Deleted);
        Assert.Equal("scheduled", Assert.Single((await _client.GetAsync(_p + "job")).Kvs).ValueText);
        Assert.Empty((await _client.GetAsync(_p + "queue")).Kvs);
    }

    [Fact]
    public async Task A_transition_that_loses_its_compare_changes_nothing_and_returns_the_failure_branch_results()
    {
        var read = await _client.PutAsync(_p + "job", "queued");
        var newer = await _client.PutAsync(_p + "job", "taken by someone else");

        var txn = await _client.TxnAsync(Txn.If(Cmp.ModRevision(_p + "job") == read.Header.Revision)
            .Then(Op.Put(_p + "job", "scheduled"), Op.Put(_p + "marker", "should not exist"))
            .Else(Op.Get(_p + "job")));

        Assert.False(txn.Succeeded);
        var current = Assert.Single(Assert.Single(txn.Responses).ResponseRange.Kvs);
        Assert.Equal("taken by someone else", current.ValueText);
        Assert.Equal(newer.Header.Revision, current.ModRevision);
        Assert.Equal(newer.Header.Revision, txn.Header.Revision);
        Assert.Empty((await _client.GetAsync(_p + "marker")).Kvs);
    }

    [Fact]
    public async Task Compares_on_value_version_create_mod_and_lease_hold_exactly_when_they_should()
    {
        var lease = await _client.GrantLeaseAsync(TimeSpan.FromSeconds(60));
        var created = await _client.PutAsync(_p + "k", "b");
        var modified = await _client.PutAsync(_p + "k", "b", lease: lease.ID);
        var k = _p + "k";

        // Each pair: a compare that holds, then one that does not.
        var cases = new (string What, Compare Holds, Compare Fails)[]
        {
            ("value ==", Cmp.Value(k) == "b", Cmp.Value(k) == "c"),
            ("value !=", Cmp.Value(k) != "c", Cmp.Value(k) != "b"),
            ("value <", Cmp.Value(k) < "c", Cmp.Value(k) < "a"),
            ("value > (bytes)", Cmp.Value(k) > ByteString.CopyFromUtf8("a"), Cmp.Value(k) > ByteString.CopyFromUtf8("b")),
            ("version ==", Cmp.Version(k) == 2, Cmp.Version(k) == 1),
            ("version >", Cmp.Version(k) > 1, Cmp.Version(k) > 2),
            ("create ==", Cmp.CreateRevision(k) == created.Header.Revision, Cmp.CreateRevision(k) == modified.Header.Revision),
            ("create <", Cmp.CreateRevision(k) < modified.Header.Revision, Cmp.CreateRevision(k) < created.Header.Revision),
            ("mod ==", Cmp.ModRevision(k) == modified.Header.Revision, Cmp.ModRevision(k) == created.Header.Revision),
            ("mod !=", Cmp.ModRevision(k) != created.Header.Revision, Cmp.ModRevision(k) != modified.Header.Revision),
            ("lease ==", Cmp.Lease(k) == lease.ID, Cmp.Lease(k) == 0),
            ("missing key: create == 0", Cmp.CreateRevision(_p + "missing") == 0, Cmp.CreateRevision(k) == 0),
        };
        var wrong = new List<string>();
        foreach (var (what, holds, fails) in cases)
        {
            if (!(await _client.TxnAsync(Txn.If(holds))).Succeeded)
                wrong.Add($"{what}: should hold but failed");
            if ((await _client.TxnAsync(Txn.If(fails))).Succeeded)
                wrong.Add($"{what}: should fail but held");
        }
        await _client.RevokeLeaseAsync(lease.ID);

        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
    }

    [Fact]
    public async Task Several_compares_must_all_hold()
    {
        await _client.PutAsync(_p + "a", "1");
        await _client.PutAsync(_p + "b", "2");

        var both = await _client.TxnAsync(Txn.If(Cmp.Value(_p + "a") == "1", Cmp.Value(_p + "b") == "2"));
        var one = await _client.TxnAsync(Txn.If(Cmp.Value(_p + "a") == "1", Cmp.Value(_p + "b") == "x"));

        Assert.True(both.Succeeded);
        Assert.False(one.Succeeded);
    }

    [Fact]
    public async Task A_nested_txn_runs_in_the_outer_branch_and_returns_its_own_results()
    {
        await _client.PutAsync(_p + "outer", "yes");

        var inner = Txn.If(Cmp.Version(_p + "inner") == 0).Then(Op.Put(_p + "inner", "made", prevKv: true), Op.Get(_p + "outer"));
        var txn = await _client.TxnAsync(Txn.If(Cmp.Value(_p + "outer") == "yes").Then(Op.Txn(inner)));

        Assert.True(txn.Succeeded);
        var nested = Assert.Single(txn.Responses).ResponseTxn;
        Assert.True(nested.Succeeded);
        Assert.Equal(2, nested.Responses.Count);
        Assert.Equal("yes", Assert.Single(nested.Responses[1].ResponseRange.Kvs).ValueText);
        Assert.Equal("made", Assert.Single((await _client.GetAsync(_p + "inner")).Kvs).ValueText);
    }

    [Fact]
    public async Task Ops_in_a_txn_carry_their_options()
    {
        await _client.PutAsync(_p + "d/1", "x");
        await _client.PutAsync(_p + "d/2", "y");
        await _client.PutAsync(_p + "e", "e1");

        var txn = await _client.TxnAsync(Txn.If().Then(
            Op.Get(_p + "d/", new GetOptions { Prefix = true, CountOnly = true }),
            Op.Put(_p + "e", "e2", prevKv: true),
            Op.Delete(_p + "d/", prefix: true, prevKv: true)));

        Assert.True(txn.Succeeded);
        Assert.Equal(2, txn.Responses[0].ResponseRange.Count);
        Assert.Empty(txn.Responses[0].ResponseRange.Kvs);
        Assert.Equal("e1", txn.Responses[1].ResponsePut.PrevKv.ValueText);
        Assert.Equal(["x", "y"], txn.Responses[2].ResponseDeleteRange.PrevKvs.Select(kv => kv.ValueText));
    }

    [Fact]
    public async Task A_txn_that_writes_one_key_twice_is_refused_with_etcds_reason()
    {
        var ex = await Assert.ThrowsAsync<EtcdException>(() =>
            _client.TxnAsync(Txn.If().Then(Op.Put(_p + "k", "1"), Op.Put(_p + "k", "2"))));

        Assert.Contains("duplicate key", ex.Message);
        Assert.Contains(etcd.Server.ClientUrl, ex.Message);
    }

    [Fact]
    public void A_value_compare_with_a_number_is_refused_with_the_key_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Cmp.Value(_p + "k") == 3);

        Assert.Contains(_p + "k", ex.Message);
    }
}
