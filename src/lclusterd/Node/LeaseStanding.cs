namespace Lcluster.Daemon.Node;

/// <summary>What a node knows of the lease of one of its incarnations at a moment.</summary>
internal enum LeaseStanding
{
    /// <summary>Not the node's incarnation any more, or etcd said the lease expired: nothing may be done under it.</summary>
    Gone,

    /// <summary>No renewal confirmed recently enough: etcd is slow or out of reach, and the lease may be alive or not.</summary>
    Unconfirmed,

    /// <summary>etcd confirmed a renewal sent recently enough: the lease lives at least until that renewal's TTL runs out.</summary>
    Confirmed,
}

internal static class LeaseStandings
{
    /// <summary>
    /// The standing of <paramref name="incarnation"/>'s lease, given the node's current lease and what its keep-alive
    /// knows: <paramref name="lost"/> (etcd said it is gone) and the time since the last renewal etcd confirmed was
    /// sent. <paramref name="within"/> is how recent that renewal must be to count as confirmed.
    /// </summary>
    public static LeaseStanding Of(long incarnation, long current, bool lost, TimeSpan sinceRenewal, TimeSpan within)
    {
        if (incarnation != current || lost)
            return LeaseStanding.Gone;
        return sinceRenewal < within ? LeaseStanding.Confirmed : LeaseStanding.Unconfirmed;
    }
}
