using Grpc.Core;

namespace Lcluster.Etcd.Transport;

/// <summary>Unary calls to etcd with a timeout per endpoint and failover to the next endpoint.</summary>
internal sealed class EtcdTransport : IDisposable
{
    private volatile bool _disposed;

    public EtcdTransport(IReadOnlyList<string> endpoints, EtcdClientOptions options)
    {
        Options = options;
        Endpoints = new EndpointSet(endpoints, options);
    }

    public EtcdClientOptions Options { get; }

    public EndpointSet Endpoints { get; }

    public void Log(string line) => Options.Log?.Invoke(line);

    /// <summary>
    /// Calls the preferred endpoint, then the others when it does not answer or has no leader. A request that is not
    /// safe to repeat (<paramref name="idempotent"/> false) moves on only if it was never sent.
    /// </summary>
    public async Task<TResponse> UnaryAsync<TResponse>(Func<Endpoint, CallOptions, AsyncUnaryCall<TResponse>> call,
        bool idempotent, string what, CancellationToken cancellationToken, long leaseId = 0)
    {
        // Timed and counted as a whole (failover included): what the caller waited for (EtcdMetrics).
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var response = await UnaryOnEndpointsAsync(call, idempotent, what, cancellationToken, leaseId);
            EtcdMetrics.Record(EtcdMetrics.Op<TResponse>(), started, null);
            return response;
        }
        catch (EtcdException e)
        {
            EtcdMetrics.Record(EtcdMetrics.Op<TResponse>(), started, e);
            throw;
        }
    }

    private async Task<TResponse> UnaryOnEndpointsAsync<TResponse>(Func<Endpoint, CallOptions, AsyncUnaryCall<TResponse>> call,
        bool idempotent, string what, CancellationToken cancellationToken, long leaseId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var failures = new List<(Endpoint, string)>();
        RpcException? last = null;
        // Members that refuse for want of a leader are in an election: asked again until one is elected, within the
        // request timeout, as a member holding the request would have waited for it.
        var electionWaitEnds = Environment.TickCount64 + (long)Options.RequestTimeout.TotalMilliseconds;
        for (var round = 0; ; round++)
        {
            failures.Clear();
            var noLeader = 0;
            foreach (var endpoint in Endpoints.InTryOrder())
            {
                try
                {
                    using var pending = call(endpoint, new CallOptions(EtcdErrors.RequireLeader, DateTime.UtcNow + Options.RequestTimeout, cancellationToken));
                    var response = await pending.ResponseAsync;
                    Endpoints.Answered(endpoint);
                    return response;
                }
                catch (RpcException ex) when (EtcdErrors.CancelledByCaller(ex, cancellationToken))
                {
                    throw new OperationCanceledException(cancellationToken);
                }
                catch (RpcException ex) when (EtcdErrors.IsUnanswered(ex))
                {
                    Endpoints.Failed(endpoint);
                    last = ex;
                    failures.Add((endpoint, EtcdErrors.Cause(ex, Options.RequestTimeout)));
                    if (EtcdErrors.NoLeader(ex))
                        noLeader++;
                    if (!idempotent && !EtcdErrors.NeverSent(ex))
                    {
                        throw new EtcdUnavailableException(
                            $"{what} on etcd at {endpoint.Address}: {failures[^1].Item2}; it may or may not have been applied, so re-read before retrying", ex);
                    }
                    if (Endpoints.Count > 1 && round == 0)
                        Log($"etcd at {endpoint.Address} did not answer {what} ({failures[^1].Item2}); trying the next endpoint");
                }
                catch (RpcException ex) when (EtcdErrors.RefusedForNow(ex))
                {
                    // An outage the caller waits out and asks again; not one for the next member now: a full quota is
                    // every member's.
                    throw EtcdErrors.ForNow(ex, endpoint, what, idempotent);
                }
                catch (RpcException ex)
                {
                    throw EtcdErrors.Refused(ex, endpoint, what, leaseId);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Http.HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    // The transport's own exception, not wrapped in a status: the connection failed under the call.
                    Endpoints.Failed(endpoint);
                    if (!idempotent)
                        throw new EtcdUnavailableException($"{what} on etcd at {endpoint.Address}: {ex.Message}; it may or may not have been applied, so re-read before retrying", ex);
                    failures.Add((endpoint, ex.Message));
                }
            }
            if (noLeader == 0 || Environment.TickCount64 + (long)ElectionPoll.TotalMilliseconds >= electionWaitEnds)
                throw EtcdErrors.Unavailable(failures, last);
            await Task.Delay(ElectionPoll, cancellationToken);
        }
    }

    /// <summary>How often members without a leader are asked again.</summary>
    private static readonly TimeSpan ElectionPoll = TimeSpan.FromMilliseconds(100);

    public void Dispose()
    {
        _disposed = true;
        Endpoints.Dispose();
    }
}
