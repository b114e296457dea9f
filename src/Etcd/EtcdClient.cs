using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Leases;
using Lcluster.Etcd.Transport;
using Lcluster.Etcd.Watching;

namespace Lcluster.Etcd;

/// <summary>
/// An etcd v3 client on the stubs generated from protos/etcd.proto: KV, Txn, Lease, Watch, on one or several
/// endpoints with failover. Thread-safe. Every unary call has a timeout per endpoint
/// (<see cref="EtcdClientOptions.RequestTimeout"/>); when no endpoint answers, or etcd takes no request for now (too
/// many requests, its space quota full), it throws <see cref="EtcdUnavailableException"/>; etcd's refusals of a
/// request itself are <see cref="EtcdException"/>s.
/// </summary>
public sealed partial class EtcdClient : IAsyncDisposable
{
    private readonly EtcdTransport _transport;
    private readonly CancellationTokenSource _disposed = new();
    private int _disposeStarted;

    private EtcdClient(EtcdTransport transport) => _transport = transport;

    /// <summary>The endpoints, as "http(s)://host:port" or "unix:///path".</summary>
    public IReadOnlyList<string> Endpoints => _transport.Endpoints.Addresses;

    /// <summary>The longest Unix socket path an endpoint may name: sockaddr_un's 108 bytes, less the terminating NUL.</summary>
    public const int MaxUnixSocketPathBytes = 107;

    /// <summary>A client for these endpoints ("host:port", "http(s)://host:port" or "unix:///path"); connects on first use.</summary>
    public static EtcdClient Connect(IReadOnlyList<string> endpoints, EtcdClientOptions? options = null) =>
        new(new EtcdTransport(endpoints, options ?? new EtcdClientOptions()));

    internal EtcdTransport Transport => _transport;

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>: the RangeEnd of a prefix, as bytes.</summary>
    public static ByteString PrefixEnd(string prefix) => KeyRange.PrefixEnd(prefix);

    internal CancellationToken Disposed => _disposed.Token;

    public Task<RangeResponse> GetAsync(string key, GetOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = (options ?? new GetOptions()).ToRequest(key);
        return _transport.UnaryAsync((e, o) => e.Kv.RangeAsync(request, o), idempotent: true, $"Get {key}", cancellationToken);
    }

    public Task<PutResponse> PutAsync(string key, string value, long lease = 0, bool prevKv = false, CancellationToken cancellationToken = default) =>
        PutAsync(key, ByteString.CopyFromUtf8(value), lease, prevKv, cancellationToken);

    /// <summary>Stores a value; with a lease, the key goes when the lease does (a gone lease throws <see cref="EtcdLeaseNotFoundException"/>).</summary>
    public Task<PutResponse> PutAsync(string key, ByteString value, long lease = 0, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        var request = Op.PutRequest(key, value, lease, prevKv);
        return _transport.UnaryAsync((e, o) => e.Kv.PutAsync(request, o), idempotent: false, $"Put {key}", cancellationToken, lease);
    }

    /// <summary>Deletes a key, or every key with the prefix; DeleteRangeResponse.Deleted says how many.</summary>
    public Task<DeleteRangeResponse> DeleteAsync(string key, bool prefix = false, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        var request = Op.DeleteRequest(key, prefix, prevKv);
        return _transport.UnaryAsync((e, o) => e.Kv.DeleteRangeAsync(request, o), idempotent: false, $"Delete {key}{(prefix ? "*" : "")}", cancellationToken);
    }

    /// <summary>
    /// Runs a transaction; TxnResponse.Succeeded says which branch ran, Responses holds its results in order. A Txn
    /// of Gets alone is a read, and moves on to the next endpoint as a Get does.
    /// </summary>
    public Task<TxnResponse> TxnAsync(Txn txn, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(txn);
        var request = txn.ToRequest();
        return _transport.UnaryAsync((e, o) => e.Kv.TxnAsync(request, o), idempotent: Txn.OnlyReads(request), "Txn", cancellationToken);
    }

    /// <summary>Discards the history before <paramref name="revision"/>; watches and reads before it then fail as compacted.</summary>
    public Task<CompactionResponse> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default) =>
        _transport.UnaryAsync((e, o) => e.Kv.CompactAsync(new CompactionRequest { Revision = revision, Physical = physical }, o),
            idempotent: true, $"Compact at {revision}", cancellationToken);

    /// <summary>The state of the member the client talks to now: its raft committed and applied indexes among it.</summary>
    public Task<StatusResponse> StatusAsync(CancellationToken cancellationToken = default) =>
        _transport.UnaryAsync((e, o) => e.Maintenance.StatusAsync(new StatusRequest(), o), idempotent: true, "Status", cancellationToken);

    /// <summary>A new lease of at least <paramref name="ttl"/> (whole seconds, rounded up); the response holds its ID and granted TTL.</summary>
    public async Task<LeaseGrantResponse> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        if (ttl <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "a lease needs a positive TTL");
        var seconds = (long)Math.Ceiling(ttl.TotalSeconds);
        var response = await _transport.UnaryAsync((e, o) => e.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = seconds }, o),
            idempotent: true, $"LeaseGrant of {seconds} s", cancellationToken);
        if (response.Error.Length > 0)
            throw new EtcdException($"etcd refused a lease of {seconds} s: {response.Error}");
        return response;
    }

    /// <summary>Revokes a lease, deleting its keys; false when the lease was already gone.</summary>
    public async Task<bool> RevokeLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _transport.UnaryAsync((e, o) => e.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, o),
                idempotent: true, $"LeaseRevoke {leaseId:x}", cancellationToken, leaseId);
            return true;
        }
        catch (EtcdLeaseNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A lease's remaining TTL in seconds (-1 once it is gone) and, with <paramref name="keys"/>, its keys.</summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(long leaseId, bool keys = false, CancellationToken cancellationToken = default) =>
        _transport.UnaryAsync((e, o) => e.Lease.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = leaseId, Keys = keys }, o),
            idempotent: true, $"LeaseTimeToLive {leaseId:x}", cancellationToken, leaseId);

    /// <summary>
    /// Keeps a lease alive in the background, renewing at a third of its TTL on one stream
    /// (reconnecting, on another endpoint if need be); its Lost token fires when the lease
    /// expires or could not be renewed before its TTL ran out. <paramref name="ttl"/> is the
    /// TTL granted, counted from just before the grant.
    /// </summary>
    public LeaseKeepAlive KeepAlive(long leaseId, TimeSpan ttl) => LeaseKeepAlive.Start(this, leaseId, ttl);

    /// <summary>
    /// Events on a key or prefix, in revision order, as they happen (or from
    /// <see cref="WatchOptions.StartRevision"/>). A broken stream is reopened, on another endpoint
    /// if need be, from the last revision seen + 1, so no event is lost or repeated. A start
    /// revision that was compacted away throws <see cref="EtcdCompactedException"/>: re-read,
    /// then watch again from the revision read + 1. Ends only when cancelled.
    /// </summary>
    public IAsyncEnumerable<WatchEvents> WatchAsync(string key, WatchOptions? options = null, CancellationToken cancellationToken = default) =>
        new WatchStream(this, key, options ?? new WatchOptions()).ReadAllAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        // The token stays readable after disposal: background keep-alives and watches check it.
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 0)
        {
            _disposed.Cancel();
            _transport.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
