using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Concurrency;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Node;

/// <summary>
/// This node's membership: /lcluster/members/NAME under a lease kept alive
/// for as long as etcd agrees it exists. The lease id is the node's
/// incarnation: jobs are placed on an incarnation, and a node that comes back
/// under a new lease (restart, or its lease expired while it was cut off) owns
/// none of the old one's jobs.
/// </summary>
internal sealed class Registration : IAsyncDisposable
{
    private readonly EtcdClient _etcd;
    private readonly NodeRecord _template;
    private readonly TimeSpan _ttl;
    private readonly Log _log;

    private Registration(EtcdClient etcd, NodeRecord template, TimeSpan ttl, Log log, Session session)
    {
        _etcd = etcd;
        _template = template;
        _ttl = ttl;
        _log = log;
        Session = session;
    }

    /// <summary>The lease behind the membership; also the prime's election session.</summary>
    public Session Session { get; private set; }

    public long Incarnation => Session.LeaseId;

    public string Name => _template.Name;

    public NodeRecord Record => _template;

    /// <summary>
    /// The standing of <paramref name="incarnation"/>'s lease now; a renewal counts as confirmed when it was sent less
    /// than <paramref name="within"/> ago.
    /// </summary>
    public LeaseStanding Standing(long incarnation, TimeSpan within)
    {
        var session = Session;
        return LeaseStandings.Of(incarnation, session.LeaseId, session.Lost.IsCancellationRequested, session.SinceLastRenewal, within);
    }

    /// <summary>A guard for every write this node makes about its jobs: its membership still carries its lease.</summary>
    public Compare Guard(long incarnation) => Cmp.Lease(Keys.Member(Name)) == incarnation;

    public static async Task<Registration> RegisterAsync(EtcdClient etcd, NodeRecord template, TimeSpan ttl, Log log, CancellationToken ct)
    {
        var session = await StartSessionAsync(etcd, ttl, ct);
        var registration = new Registration(etcd, template, ttl, log, session);
        await registration.PutMemberAsync(ct);
        log.Info($"node {template.Name} registered (incarnation {session.LeaseId:x}, {template.Slots} slots, {Shared.Units.FormatBytes(template.MemoryBytes)} for jobs)");
        return registration;
    }

    /// <summary>After etcd said the lease is gone: a new lease, a new incarnation, registered again.</summary>
    public async Task RenewIncarnationAsync(CancellationToken ct)
    {
        var old = Session;
        Session = await StartSessionAsync(_etcd, _ttl, ct);
        await PutMemberAsync(ct);
        _log.Warn($"node {Name} registered again as incarnation {Session.LeaseId:x} (incarnation {old.LeaseId:x} expired: {old.LostReason})");
        await old.DisposeAsync();
    }

    private static Task<Session> StartSessionAsync(EtcdClient etcd, TimeSpan ttl, CancellationToken ct) =>
        Session.StartAsync(etcd, ttl, new SessionOptions { LostOnlyWhenEtcdSaysSo = true }, ct);

    private async Task PutMemberAsync(CancellationToken ct)
    {
        var record = _template.Clone();
        record.Incarnation = Session.LeaseId;
        await _etcd.PutAsync(Keys.Member(Name), record.ToByteString(), Session.LeaseId, cancellationToken: ct);
    }

    /// <summary>Leaves the cluster at once: the lease is revoked, the membership key goes with it.</summary>
    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        _log.Info($"node {Name} left the cluster");
    }
}
