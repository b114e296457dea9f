using Lcluster.Daemon.Node;

namespace Lcluster.Unit.Tests;

/// <summary>
/// What a node knows of its lease (Registration.Standing): the runner starts a container only on a Confirmed lease
/// (renewal sent less than half a TTL ago), and the health check answers SERVING only on one confirmed within a TTL.
/// </summary>
public sealed class LeaseStandingTests
{
    private static readonly TimeSpan HalfTtl = TimeSpan.FromSeconds(2.5);

    [Fact]
    public void A_renewal_etcd_confirmed_recently_enough_lets_the_node_act()
    {
        Assert.Equal(LeaseStanding.Confirmed, LeaseStandings.Of(7, 7, lost: false, TimeSpan.FromMilliseconds(400), HalfTtl));
        Assert.Equal(LeaseStanding.Confirmed, LeaseStandings.Of(7, 7, lost: false, TimeSpan.Zero, HalfTtl));
    }

    [Theory]
    [InlineData(2500)] // exactly the limit: not recent enough
    [InlineData(4000)] // cut off from etcd, the lease may or may not have expired yet
    [InlineData(60_000)]
    public void A_lease_whose_last_confirmed_renewal_is_too_old_is_unconfirmed_so_a_runner_waits(int sinceMs)
    {
        Assert.Equal(LeaseStanding.Unconfirmed, LeaseStandings.Of(7, 7, lost: false, TimeSpan.FromMilliseconds(sinceMs), HalfTtl));
    }

    [Fact]
    public void A_lease_etcd_said_is_gone_is_gone_however_recent_its_last_renewal()
    {
        Assert.Equal(LeaseStanding.Gone, LeaseStandings.Of(7, 7, lost: true, TimeSpan.Zero, HalfTtl));
        Assert.Equal(LeaseStanding.Gone, LeaseStandings.Of(7, 7, lost: true, TimeSpan.FromSeconds(9), HalfTtl));
    }

    [Fact]
    public void An_earlier_incarnation_is_gone_once_the_node_registered_again_even_while_the_new_lease_is_fresh()
    {
        // A runner placed under lease 6 must not start its job under lease 7: the prime settles lease 6's jobs.
        Assert.Equal(LeaseStanding.Gone, LeaseStandings.Of(6, 7, lost: false, TimeSpan.Zero, HalfTtl));
    }
}
