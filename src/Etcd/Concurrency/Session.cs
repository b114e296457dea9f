using Lcluster.Etcd.Leases;

namespace Lcluster.Etcd.Concurrency;

/// <summary>
/// A lease kept alive for as long as this process wants it (etcd's concurrency.Session).
/// Keys put with <see cref="LeaseId"/> live while the session does. <see cref="Lost"/> fires
/// when the lease expires or cannot be renewed before its TTL runs out; disposal revokes it.
/// </summary>
public sealed class Session : IAsyncDisposable
{
    private readonly LeaseKeepAlive _keepAlive;

    private Session(EtcdClient client, LeaseKeepAlive keepAlive, TimeSpan ttl)
    {
        Client = client;
        _keepAlive = keepAlive;
        Ttl = ttl;
    }

    public EtcdClient Client { get; }

    public long LeaseId => _keepAlive.LeaseId;

    /// <summary>The TTL etcd granted.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Fires once the lease is gone (expired, revoked elsewhere, or not renewable in time).</summary>
    public CancellationToken Lost => _keepAlive.Lost;

    /// <summary>Why <see cref="Lost"/> fired; null while the session is alive.</summary>
    public string? LostReason => _keepAlive.LostReason;

    /// <summary>Time since etcd last confirmed the lease.</summary>
    public TimeSpan SinceLastRenewal => _keepAlive.SinceLastRenewal;

    /// <summary>When the last renewal etcd confirmed was sent, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long RenewedAt => _keepAlive.RenewedAt;

    /// <summary>Grants a lease of <paramref name="ttl"/> (whole seconds) and starts keeping it alive.</summary>
    public static Task<Session> StartAsync(EtcdClient client, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        StartAsync(client, ttl, new SessionOptions(), cancellationToken);

    /// <summary>Grants a lease of <paramref name="ttl"/> (whole seconds) and starts keeping it alive as the options say.</summary>
    public static async Task<Session> StartAsync(EtcdClient client, TimeSpan ttl, SessionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var before = Environment.TickCount64;
        var grant = await client.GrantLeaseAsync(ttl, cancellationToken);
        var granted = TimeSpan.FromSeconds(grant.TTL);
        // The lease's clock started somewhere during the grant: count from before it, to be safe.
        var left = granted - TimeSpan.FromMilliseconds(Environment.TickCount64 - before);
        // The node's fence counts from the last renewal: the grant, as sent, is the first.
        var keepAlive = LeaseKeepAlive.Start(client, grant.ID, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), options.LostOnlyWhenEtcdSaysSo, grantSentAt: before);
        return new Session(client, keepAlive, granted);
    }

    /// <summary>Stops renewing and revokes the lease, deleting its keys at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _keepAlive.DisposeAsync();
        if (Lost.IsCancellationRequested || Client.Disposed.IsCancellationRequested)
            return;
        try
        {
            await Client.RevokeLeaseAsync(LeaseId);
        }
        catch (EtcdException ex)
        {
            // Unrevoked, the lease still expires within its TTL; disposal must not throw for that.
            Client.Transport.Log($"could not revoke lease {LeaseId:x} ({ex.Message}); it expires within {Ttl.TotalSeconds} s");
        }
    }
}

/// <summary>How a <see cref="Session"/> keeps its lease.</summary>
public sealed record SessionOptions
{
    /// <summary>
    /// Lost fires only when etcd says the lease is gone, never because renewals
    /// failed for a TTL: etcd extends every lease when it comes back from an
    /// outage, so a holder that just could not reach it keeps its lease.
    /// The holder watches <see cref="Session.SinceLastRenewal"/> for its own fencing.
    /// </summary>
    public bool LostOnlyWhenEtcdSaysSo { get; init; }
}
