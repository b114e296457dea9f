using Grpc.Core;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Transport;

namespace Lcluster.Etcd.Leases;

/// <summary>
/// Renews one lease in the background at a third of its TTL, over a LeaseKeepAlive stream that
/// is reopened (on the next endpoint if need be) when it breaks. <see cref="Lost"/> fires when
/// etcd says the lease is gone, or when no renewal succeeded before the lease's TTL ran out
/// (counted from the last renewal sent, so it fires no later than etcd expires the lease).
/// Disposal stops renewing; it does not revoke.
/// </summary>
public sealed class LeaseKeepAlive : IAsyncDisposable
{
    private const string NoTimeLeft = "no time left to renew";

    private readonly EtcdClient _client;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _lost = new();
    private Task _loop = Task.CompletedTask;
    private long _deadline;
    private long _ttlSeconds;

    private readonly bool _untilEtcdSaysGone;
    private long _renewedAt;

    private LeaseKeepAlive(EtcdClient client, long leaseId, TimeSpan ttl, bool untilEtcdSaysGone, long renewedAt)
    {
        _renewedAt = renewedAt;
        _untilEtcdSaysGone = untilEtcdSaysGone;
        _client = client;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(client.Disposed);
        LeaseId = leaseId;
        _ttlSeconds = (long)Math.Ceiling(ttl.TotalSeconds);
        _deadline = Environment.TickCount64 + (long)ttl.TotalMilliseconds;
    }

    public long LeaseId { get; }

    /// <summary>Fires once the lease is gone or could not be renewed in time; it is not renewed after that.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Why <see cref="Lost"/> fired; null while the lease is alive.</summary>
    public string? LostReason { get; private set; }

    /// <summary>The TTL etcd granted at the last renewal.</summary>
    public TimeSpan Ttl => TimeSpan.FromSeconds(Interlocked.Read(ref _ttlSeconds));

    /// <summary>Time since etcd last confirmed a renewal (counted from when that renewal was sent).</summary>
    public TimeSpan SinceLastRenewal => TimeSpan.FromMilliseconds(Environment.TickCount64 - RenewedAt);

    /// <summary>When the last renewal etcd confirmed was sent, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long RenewedAt => Volatile.Read(ref _renewedAt);

    /// <summary>
    /// Keeps <paramref name="leaseId"/> alive, <paramref name="ttl"/> left of it now. <paramref name="grantSentAt"/>: when
    /// the grant was sent (<see cref="Environment.TickCount64"/>), the lease's first renewal as <see cref="RenewedAt"/>
    /// counts it; now when not given.
    /// </summary>
    internal static LeaseKeepAlive Start(EtcdClient client, long leaseId, TimeSpan ttl, bool untilEtcdSaysGone = false, long? grantSentAt = null)
    {
        if (ttl <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "a lease kept alive needs the positive TTL it was granted");
        var keepAlive = new LeaseKeepAlive(client, leaseId, ttl, untilEtcdSaysGone, grantSentAt ?? Environment.TickCount64);
        keepAlive._loop = Task.Run(keepAlive.RunAsync);
        return keepAlive;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var backoff = new Backoff();
        var failedInARow = 0;
        var cause = "";
        try
        {
            while (true)
            {
                var endpoint = _client.Transport.Endpoints.InTryOrder().First();
                string? broken = null;
                using (var call = endpoint.Lease.LeaseKeepAlive(new CallOptions(EtcdErrors.RequireLeader, cancellationToken: token)))
                {
                    while (broken == null)
                    {
                        var sentAt = Environment.TickCount64;
                        (var ttl, broken) = await RenewAsync(call, endpoint, token);
                        if (ttl is not { } seconds)
                            break;
                        if (seconds <= 0)
                        {
                            Lose($"etcd at {endpoint.Address} says lease {LeaseId:x} is gone (expired or revoked)");
                            return;
                        }
                        Interlocked.Exchange(ref _ttlSeconds, seconds);
                        Volatile.Write(ref _deadline, sentAt + seconds * 1000);
                        Volatile.Write(ref _renewedAt, sentAt);
                        backoff.Reset();
                        failedInARow = 0;
                        await Task.Delay(TimeSpan.FromSeconds(seconds / 3.0), token);
                    }
                }
                _client.Transport.Endpoints.Failed(endpoint);
                failedInARow++;
                if (broken != NoTimeLeft)
                    cause = broken ?? "";
                var left = Volatile.Read(ref _deadline) - Environment.TickCount64;
                if (left <= 0 && _untilEtcdSaysGone)
                {
                    // etcd may have been down for everyone (it extends leases when it comes back, by one TTL): keep trying,
                    // at a quarter of the TTL at most, so the renewal lands early in that one TTL and not at its end.
                    _client.Transport.Log($"renewing lease {LeaseId:x} at etcd {endpoint.Address} failed ({broken}); its TTL ran out locally, retrying until etcd answers");
                    await backoff.DelayAsync(token, TimeSpan.FromMilliseconds(Math.Max(Interlocked.Read(ref _ttlSeconds) * 1000 / 4, 100)));
                    continue;
                }
                if (left <= 0)
                {
                    Lose($"lease {LeaseId:x} could not be renewed before its TTL ran out: {cause}");
                    return;
                }
                _client.Transport.Log($"renewing lease {LeaseId:x} at etcd {endpoint.Address} failed ({broken}); retrying, {left} ms left");
                // The next member at once (with a 2 s TTL a third of it is already spent on the silent one); once each
                // has failed in turn, back off.
                if (failedInARow >= _client.Transport.Endpoints.Count)
                    await backoff.DelayAsync(token, TimeSpan.FromMilliseconds(left));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped by DisposeAsync or the client's disposal: the owner no longer wants the lease renewed.
        }
        catch (Exception ex)
        {
            Lose($"renewing lease {LeaseId:x} failed: {ex.Message}");
        }
    }

    /// <summary>One renewal: the new TTL in seconds, or why the stream is broken.</summary>
    private async Task<(long? Ttl, string? Broken)> RenewAsync(
        AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call, Endpoint endpoint, CancellationToken token)
    {
        var requestTimeout = (long)_client.Transport.Options.RequestTimeout.TotalMilliseconds;
        var wait = Math.Min(requestTimeout, Volatile.Read(ref _deadline) - Environment.TickCount64);
        // With other members to ask, a silent one gets a third of the TTL, not all that is left of it: a member cut off
        // from its peers never answers, and waiting it out left no time to renew through another before etcd expired the lease.
        var perEndpoint = _client.Transport.Endpoints.Count > 1 ? Math.Max(Interlocked.Read(ref _ttlSeconds) * 1000 / 3, 200) : long.MaxValue;
        wait = Math.Min(wait, perEndpoint);
        if (_untilEtcdSaysGone)
            wait = Math.Max(wait, Math.Min(Math.Min(1000, perEndpoint), requestTimeout));
        if (wait <= 0)
            return (null, NoTimeLeft);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(wait));
        var silent = $"etcd at {endpoint.Address} did not answer within {wait} ms";
        try
        {
            var (response, broken) = await EtcdErrors.OnStreamAsync(async () =>
            {
                await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = LeaseId }, timeout.Token);
                return await call.ResponseStream.MoveNext(timeout.Token) ? call.ResponseStream.Current : null;
            }, endpoint, $"LeaseKeepAlive {LeaseId:x}", token);
            if (broken is not null)
                return (null, timeout.IsCancellationRequested ? silent : broken);
            return response is null ? (null, "etcd ended the keep-alive stream") : (response.TTL, null);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return (null, silent);
        }
    }

    private void Lose(string reason)
    {
        LostReason = reason;
        _client.Transport.Log(reason);
        _lost.Cancel();
    }
}
