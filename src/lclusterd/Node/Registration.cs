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
/// none of the old one's jobs. A name is one daemon's at a time (<see cref="ClaimNameAsync"/>).
/// </summary>
internal sealed class Registration : IAsyncDisposable
{
    /// <summary>Past the holder's TTL, how long a name is waited for: its lease's expiry takes etcd a moment to act on.</summary>
    private static readonly TimeSpan ClaimMargin = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ClaimPoll = TimeSpan.FromMilliseconds(250);

    private readonly EtcdClient _etcd;
    private readonly NodeRecord _template;
    private readonly TimeSpan _ttl;
    private readonly string _incarnationFile;
    private readonly Log _log;

    private Registration(EtcdClient etcd, NodeRecord template, TimeSpan ttl, string incarnationFile, Log log)
    {
        _etcd = etcd;
        _template = template;
        _ttl = ttl;
        _incarnationFile = incarnationFile;
        _log = log;
    }

    /// <summary>The lease behind the membership; also the prime's election session.</summary>
    public Session Session { get; private set; } = null!; // set by RegisterAsync before anyone sees it

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

    /// <summary>
    /// Registers the node under a new lease. <paramref name="incarnationFile"/> (in the data dir) names the lease of
    /// this data dir's last run in this boot of the machine, whose membership a restart takes over at once.
    /// </summary>
    public static async Task<Registration> RegisterAsync(EtcdClient etcd, NodeRecord template, TimeSpan ttl, string incarnationFile, Log log, CancellationToken ct)
    {
        var registration = new Registration(etcd, template, ttl, incarnationFile, log);
        registration.Session = await registration.ClaimedSessionAsync(Earlier(incarnationFile), ct);
        log.Info($"node {template.Name} registered (incarnation {registration.Incarnation:x}, {template.Slots} slots, {Shared.Units.FormatBytes(template.MemoryBytes)} for jobs)");
        return registration;
    }

    /// <summary>After etcd said the lease is gone: a new lease, a new incarnation, registered again.</summary>
    public async Task RenewIncarnationAsync(CancellationToken ct)
    {
        var old = Session;
        Session = await ClaimedSessionAsync(old.LeaseId, ct);
        _log.Warn($"node {Name} registered again as incarnation {Session.LeaseId:x} (incarnation {old.LeaseId:x} expired: {old.LostReason})");
        await old.DisposeAsync();
    }

    /// <summary>A new lease with the node's name claimed under it; the lease is revoked when the claim fails.</summary>
    private async Task<Session> ClaimedSessionAsync(long? earlier, CancellationToken ct)
    {
        var session = await Session.StartAsync(_etcd, _ttl, new SessionOptions { LostOnlyWhenEtcdSaysSo = true }, ct);
        try
        {
            await ClaimNameAsync(session.LeaseId, earlier, ct);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Puts the membership under <paramref name="lease"/> if the name is free. A name held under another lease is a
    /// live daemon's, or one's that died less than its TTL ago: this node waits that long (the longer of the two TTLs,
    /// and 2 s) for it to go, then refuses it. Two daemons under one name would each take the other's jobs for orphans
    /// of a dead incarnation and have them run again while they still run. The one lease taken over at once is
    /// <paramref name="earlier"/>, this data dir's own last run in this boot (a restart after a crash; the data dir's
    /// lock keeps a second daemon off it, and a copy of the data dir on another machine has another boot): it is revoked.
    /// </summary>
    private async Task ClaimNameAsync(long lease, long? earlier, CancellationToken ct)
    {
        var key = Keys.Member(Name);
        var record = _template.Clone();
        record.Incarnation = lease;
        var claim = Txn.If(Cmp.CreateRevision(key) == 0).Then(Op.Put(key, record.ToByteString(), lease)).Else(Op.Get(key));
        (long Lease, long GiveUpAt, TimeSpan Waited) holder = (0, 0, TimeSpan.Zero);
        while (true)
        {
            var answer = await _etcd.TxnAsync(claim, ct);
            if (answer.Succeeded)
                break;
            if (answer.Responses[0].ResponseRange.Kvs is not [var held, ..])
                continue; // gone since the compare
            if (held.Lease == lease)
                break; // an earlier try of this claim, whose answer was lost
            if (held.Lease == earlier)
            {
                await _etcd.RevokeLeaseAsync(held.Lease, ct);
                _log.Info($"node {Name}: incarnation {held.Lease:x} of this data dir's last run revoked");
                continue;
            }
            if (holder.Lease != held.Lease)
            {
                var granted = TimeSpan.FromSeconds(Math.Max(0, (await _etcd.LeaseTimeToLiveAsync(held.Lease, cancellationToken: ct)).GrantedTTL));
                var wait = (granted > _ttl ? granted : _ttl) + ClaimMargin;
                holder = (held.Lease, Environment.TickCount64 + (long)wait.TotalMilliseconds, wait);
            }
            if (Environment.TickCount64 >= holder.GiveUpAt)
                throw new NodeNameTakenException(Name, NodeRecord.Parser.ParseFrom(held.Value).Address, held.Lease, holder.Waited);
            await Task.Delay(ClaimPoll, ct);
        }
        try
        {
            File.WriteAllText(_incarnationFile, $"{lease:x} {BootId()}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a restart's speed depends on it: that one waits the lease out instead.
            _log.Warn($"node {Name}: cannot note incarnation {lease:x} in {_incarnationFile} ({e.Message}); a restart will wait for its lease to expire");
        }
    }

    /// <summary>The lease this data dir's last run registered under in this boot; null when none is noted, or another boot noted it.</summary>
    private static long? Earlier(string incarnationFile)
    {
        try
        {
            return File.ReadAllText(incarnationFile).Split(' ', '\n') is [var hex, var boot, ..] && boot == BootId() &&
                long.TryParse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var lease)
                ? lease
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // none yet (FileNotFoundException is an IOException): the name waits out whoever holds it
        }
    }

    /// <summary>This boot of the machine, as the kernel names it.</summary>
    private static string BootId() => File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();

    /// <summary>Leaves the cluster at once: the lease is revoked, the membership key goes with it.</summary>
    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        _log.Info($"node {Name} left the cluster");
    }
}

/// <summary>A node name another live daemon holds: this one must not register under it.</summary>
internal sealed class NodeNameTakenException(string name, string address, long lease, TimeSpan waited)
    : Exception($"node name {name} is held by a live lclusterd at {address} (incarnation {lease:x}; waited {waited.TotalSeconds:0} s for it to go): " +
        "two daemons under one name would run each other's jobs again; give this one another --node-name, or stop the other");
