using Lcluster.Daemon.Hosting;

namespace Lcluster.Unit.Tests;

/// <summary>The connection limits' counting: per peer, in all, and places given back.</summary>
public sealed class ConnectionLimitTests
{
    [Fact]
    public void A_peer_gets_its_share_and_no_more_while_others_still_get_theirs()
    {
        var limits = new ConnectionLimits("TCP", total: 10, perPeer: 3, new Log(TextWriter.Null));
        for (var i = 0; i < 3; i++)
            Assert.True(limits.TryEnter("10.0.0.1", out _));
        Assert.False(limits.TryEnter("10.0.0.1", out var over));
        Assert.Equal("per-peer 3", over);
        Assert.True(limits.TryEnter("10.0.0.2", out _));
        Assert.Equal(4, limits.Open);
        limits.Leave("10.0.0.1");
        Assert.True(limits.TryEnter("10.0.0.1", out _));
    }

    [Fact]
    public void The_total_holds_however_many_peers_there_are_and_refusals_take_no_place()
    {
        var limits = new ConnectionLimits("TCP", total: 5, perPeer: 2, new Log(TextWriter.Null));
        var admitted = Enumerable.Range(0, 20).Count(i => limits.TryEnter($"10.0.0.{i}", out _));
        Assert.Equal(5, admitted);
        Assert.False(limits.TryEnter("10.0.1.1", out var over));
        Assert.Equal("TCP's 5", over);
        Assert.Equal(5, limits.Open);
        for (var i = 0; i < 5; i++)
            limits.Leave($"10.0.0.{i}");
        Assert.Equal(0, limits.Open);
        Assert.True(limits.TryEnter("10.0.1.1", out _));
    }
}
