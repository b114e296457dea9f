using System.Runtime.CompilerServices;
using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using SortOrder = Lcluster.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = Lcluster.Etcd.Api.RangeRequest.Types.SortTarget;

namespace Lcluster.Etcd.Concurrency;

/// <summary>
/// etcd's election recipe, compatible with <c>etcdctl elect NAME</c>: each candidate puts
/// <c>NAME/&lt;lease id in hex&gt;</c> with its session's lease; the lowest create revision
/// leads; each waiter watches only the candidate just before it. A leader whose session is
/// revoked or expires hands over to the next in line.
/// </summary>
public sealed class Election
{
    private readonly Session _session;
    private readonly string _prefix;

    public Election(Session session, string name)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _session = session;
        Name = name;
        _prefix = name + "/";
    }

    public string Name { get; }

    /// <summary>This candidate's key while it campaigns or leads; null otherwise.</summary>
    public string? Key { get; private set; }

    /// <summary>The create revision of <see cref="Key"/>: a fencing token for the leader's writes.</summary>
    public long Revision { get; private set; }

    private EtcdClient Client => _session.Client;

    public Task CampaignAsync(string value, CancellationToken cancellationToken = default) =>
        CampaignAsync(ByteString.CopyFromUtf8(value), cancellationToken);

    /// <summary>
    /// Returns once this candidate leads, with <paramref name="value"/> as the leader's value.
    /// Throws <see cref="EtcdException"/> if the session is lost first; on cancellation it
    /// withdraws the candidacy before throwing.
    /// </summary>
    public async Task CampaignAsync(ByteString value, CancellationToken cancellationToken = default)
    {
        var key = _prefix + _session.LeaseId.ToString("x");
        var txn = Txn.If(Cmp.CreateRevision(key) == 0)
            .Then(Op.Put(key, value, _session.LeaseId))
            .Else(Op.Get(key));
        var response = await Client.TxnAsync(txn, cancellationToken);
        var revision = response.Header.Revision;
        Key = key;
        if (!response.Succeeded)
        {
            // Campaigning again with the same session: keep the place in line, update the value.
            var existing = response.Responses[0].ResponseRange.Kvs[0];
            revision = existing.CreateRevision;
            Revision = revision;
            if (existing.Value != value)
                await ProclaimAsync(value, cancellationToken);
        }
        Revision = revision;

        using var campaign = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _session.Lost);
        try
        {
            await WaitForPredecessorsAsync(revision - 1, campaign.Token);
            var mine = await Client.GetAsync(key, cancellationToken: campaign.Token);
            if (mine.Kvs.Count == 0 || mine.Kvs[0].CreateRevision != revision)
                throw new EtcdException($"campaign on {Name}: key {key} vanished while waiting (its lease {_session.LeaseId:x} expired?)");
        }
        catch (OperationCanceledException) when (_session.Lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Key = null;
            throw new EtcdException($"campaign on {Name}: the session ended before this candidate led: {_session.LostReason}");
        }
        catch (OperationCanceledException)
        {
            await WithdrawAsync();
            throw;
        }
    }

    /// <summary>Changes the leader's value without a new election; throws if this candidate no longer leads.</summary>
    public async Task ProclaimAsync(ByteString value, CancellationToken cancellationToken = default)
    {
        var key = Key ?? throw new InvalidOperationException($"not a candidate in election {Name}: campaign first");
        var txn = Txn.If(Cmp.CreateRevision(key) == Revision).Then(Op.Put(key, value, _session.LeaseId));
        if (!(await Client.TxnAsync(txn, cancellationToken)).Succeeded)
        {
            Key = null;
            throw new EtcdException($"election {Name}: {key} is no longer this candidate's (the session's lease expired?)");
        }
    }

    /// <summary>Gives up leadership (or the place in line), so the next candidate leads.</summary>
    public async Task ResignAsync(CancellationToken cancellationToken = default)
    {
        if (Key is not { } key)
            return;
        await Client.TxnAsync(Txn.If(Cmp.CreateRevision(key) == Revision).Then(Op.Delete(key)), cancellationToken);
        Key = null;
    }

    /// <summary>The current leader's key and value, or null when nobody leads.</summary>
    public async Task<KeyValue?> LeaderAsync(CancellationToken cancellationToken = default)
    {
        var response = await Client.GetAsync(_prefix, FirstCreated, cancellationToken);
        return response.Kvs.FirstOrDefault();
    }

    /// <summary>
    /// The leader now (once there is one), then every change: a new leader or a new value
    /// proclaimed. It may skip leaders that came and went between two reads, never the latest.
    /// </summary>
    public async IAsyncEnumerable<KeyValue> ObserveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var response = await Client.GetAsync(_prefix, FirstCreated, cancellationToken);
            var leader = response.Kvs.FirstOrDefault();
            var revision = response.Header.Revision;
            if (leader == null)
            {
                await foreach (var batch in Client.WatchAsync(_prefix, new WatchOptions { Prefix = true, StartRevision = revision + 1 }, cancellationToken))
                {
                    leader = batch.Events.FirstOrDefault(e => e.Type == Event.Types.EventType.Put)?.Kv;
                    if (leader != null)
                        break;
                }
                revision = leader!.ModRevision;
            }
            yield return leader;
            await foreach (var batch in Client.WatchAsync(leader.KeyText, new WatchOptions { StartRevision = revision + 1 }, cancellationToken))
            {
                if (batch.Events.Any(e => e.Type == Event.Types.EventType.Delete))
                    break;
                foreach (var change in batch.Events)
                    yield return change.Kv;
            }
        }
    }

    private static GetOptions FirstCreated { get; } =
        new() { Prefix = true, SortTarget = SortTarget.Create, SortOrder = SortOrder.Ascend, Limit = 1 };

    /// <summary>Waits until no candidate created at or before <paramref name="maxCreateRevision"/> is left, watching only the latest of them.</summary>
    private async Task WaitForPredecessorsAsync(long maxCreateRevision, CancellationToken cancellationToken)
    {
        var last = new GetOptions
        {
            Prefix = true, SortTarget = SortTarget.Create, SortOrder = SortOrder.Descend, Limit = 1, MaxCreateRevision = maxCreateRevision,
        };
        while (true)
        {
            var response = await Client.GetAsync(_prefix, last, cancellationToken);
            if (response.Kvs.Count == 0)
                return;
            await WaitDeletedAsync(response.Kvs[0].KeyText, response.Header.Revision + 1, cancellationToken);
        }
    }

    private async Task WaitDeletedAsync(string key, long fromRevision, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var batch in Client.WatchAsync(key, new WatchOptions { StartRevision = fromRevision }, cancellationToken))
            {
                if (batch.Events.Any(e => e.Type == Event.Types.EventType.Delete))
                    return;
            }
        }
        catch (EtcdCompactedException)
        {
            // History moved on while we looked: the caller reads the line again.
        }
    }

    /// <summary>Withdraws after a cancelled campaign, so this candidate does not lead later unknowingly.</summary>
    private async Task WithdrawAsync()
    {
        try
        {
            await ResignAsync(CancellationToken.None);
        }
        catch (EtcdException ex)
        {
            // The key still goes with the session's lease; the caller's cancellation is what it needs to hear about.
            Client.Transport.Log($"campaign on {Name} cancelled, and withdrawing {Key} failed: {ex.Message}");
        }
    }
}
