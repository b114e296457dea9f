using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace Lcluster.Etcd.Transport;

/// <summary>Turns what a gRPC call to etcd threw into the etcd exception a caller can act on.</summary>
internal static class EtcdErrors
{
    /// <summary>
    /// Asks etcd to refuse a call or a stream on a member that has no leader, and to cancel a stream when its member
    /// has had no leader for three election timeouts (etcd's "hasleader" metadata, as etcd's own client's
    /// WithRequireLeader). Without it a member cut off from its peers keeps a watch open and silent for as long as the
    /// cut lasts (the owner never learns it should resume on another member), and holds every request sent to it
    /// until the request's deadline.
    /// </summary>
    public static readonly Metadata RequireLeader = new() { { "hasleader", "true" } };

    /// <summary>A call the caller cancelled ends as RpcException(CANCELLED): it surfaces as the caller's OperationCanceledException.</summary>
    public static bool CancelledByCaller(RpcException ex, CancellationToken token) =>
        ex.StatusCode == StatusCode.Cancelled && token.IsCancellationRequested;

    /// <summary>
    /// Runs one step on a watch or keep-alive stream: its result, or why the stream broke (the
    /// owner reopens it, on the next endpoint if need be). The caller's own cancellation and
    /// etcd's refusals are thrown. A stream write can fail with the transport's raw exception
    /// (an HTTP/2 handshake that never completed, a connection the server closed), not only
    /// with a status: both mean the stream is broken.
    /// </summary>
    public static async Task<(T? Value, string? Broken)> OnStreamAsync<T>(Func<Task<T>> step, Endpoint endpoint, string what, CancellationToken token)
    {
        try
        {
            return (await step(), null);
        }
        catch (RpcException ex) when (CancelledByCaller(ex, token))
        {
            throw new OperationCanceledException(token);
        }
        catch (RpcException ex) when (IsUnanswered(ex) || ex.StatusCode == StatusCode.Cancelled)
        {
            return (default, ex.Status.DebugException?.Message ?? ex.Status.Detail);
        }
        catch (RpcException ex)
        {
            throw Refused(ex, endpoint, what);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !token.IsCancellationRequested)
        {
            return (default, ex.Message);
        }
    }

    /// <summary>The endpoint did not answer: worth trying another one (for a request that is safe to repeat).</summary>
    public static bool IsUnanswered(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        // etcd reports its own expired deadline as UNKNOWN "context deadline exceeded".
        || (ex.StatusCode == StatusCode.Unknown && ex.Status.Detail.Contains("context deadline exceeded", StringComparison.Ordinal))
        // Grpc.Net.Client reports a connection that broke under a call (a reset, a GOAWAY) with the transport's exception
        // inside; etcd's own statuses carry none.
        || (ex.StatusCode is StatusCode.Unknown or StatusCode.Internal or StatusCode.Cancelled && ex.Status.DebugException is IOException or HttpRequestException)
        // A connection whose set-up outlasted the handler's connect timeout (a loaded machine, an etcd still starting) ends
        // the call as CANCELLED with the handler's own cancellation inside; the caller's cancellation is told apart before.
        || (ex.StatusCode == StatusCode.Cancelled && ex.Status.DebugException is OperationCanceledException);

    /// <summary>The request never left this machine (no connection could be made), so even a write may be sent elsewhere.</summary>
    public static bool NeverSent(RpcException ex)
    {
        if (NoLeader(ex))
            return true;
        for (var e = ex.Status.DebugException; e != null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable
                    or SocketError.NetworkUnreachable or SocketError.NetworkDown or SocketError.HostNotFound })
                return true;
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
                return true;
        }
        return false;
    }

    /// <summary>
    /// A member asked with <see cref="RequireLeader"/> that has no leader refuses the call before it reaches the
    /// server's handler (etcd's unary interceptor), so nothing of it was proposed: safe to send to another member. For
    /// the other calls, etcd 3.4's handlers return "no leader" only for lease reads and renewals, never after a proposal.
    /// </summary>
    public static bool NoLeader(RpcException ex) =>
        ex.StatusCode == StatusCode.Unavailable && ex.Status.Detail == "etcdserver: no leader";

    private const string TooManyRequests = "etcdserver: too many requests";
    private const string NoSpace = "etcdserver: mvcc: database space exceeded";

    /// <summary>
    /// etcd turned the request away for now, not for what it asks: the member is too far behind in applying what it
    /// committed ("too many requests", said before anything is proposed), or etcd's space quota is full ("database
    /// space exceeded": every write, the whole cluster's, is refused until an operator frees space and clears the
    /// alarm). Other RESOURCE_EXHAUSTED statuses (a message over gRPC's limit) are refusals of the request itself.
    /// </summary>
    public static bool RefusedForNow(RpcException ex) =>
        ex.StatusCode == StatusCode.ResourceExhausted && ex.Status.Detail is TooManyRequests or NoSpace;

    /// <summary>
    /// A request <see cref="RefusedForNow"/>, as the outage it is to the caller: one it waits out, as it waits out an
    /// etcd it cannot reach. etcd applies the write that fills its quota and answers it "database space exceeded" all
    /// the same, so a write so refused may or may not have been applied.
    /// </summary>
    public static EtcdUnavailableException ForNow(RpcException ex, Endpoint endpoint, string what, bool idempotent)
    {
        var why = ex.Status.Detail == NoSpace ? $"{NoSpace} (etcd refuses writes until its alarm is cleared)" : ex.Status.Detail;
        var outcome = idempotent ? "" : "; it may or may not have been applied, so re-read before retrying";
        return new EtcdUnavailableException($"{what} on etcd at {endpoint.Address}: {why}{outcome}", ex);
    }

    /// <summary>Why an endpoint did not answer, in a few words.</summary>
    public static string Cause(RpcException ex, TimeSpan timeout) =>
        ex.StatusCode == StatusCode.Unavailable ? Shared.TransportFailure.Cause(ex) : $"no answer within {timeout.TotalSeconds:0.###} s";

    public static EtcdUnavailableException Unavailable(IReadOnlyList<(Endpoint Endpoint, string Cause)> failures, Exception? last)
    {
        var message = failures.Count == 1
            ? $"cannot reach etcd at {failures[0].Endpoint.Address}: {failures[0].Cause}"
            : "cannot reach etcd at any endpoint: " + string.Join(", ", failures.Select(f => $"{f.Endpoint.Address} ({f.Cause})"));
        return new EtcdUnavailableException(message + "; check that etcd is running and the endpoints are right", last);
    }

    /// <summary>An answer from etcd that is not OK: what etcd refused, in its own words.</summary>
    public static EtcdException Refused(RpcException ex, Endpoint endpoint, string what, long leaseId = 0)
    {
        var detail = ex.Status.Detail;
        if (ex.StatusCode == StatusCode.OutOfRange && detail.Contains("compacted", StringComparison.Ordinal))
            return new EtcdCompactedException(0, $"{what} on etcd at {endpoint.Address}: {detail}; re-read the current state", ex);
        if (ex.StatusCode == StatusCode.NotFound && detail.Contains("lease not found", StringComparison.Ordinal))
        {
            var lease = leaseId != 0 ? $"lease {leaseId:x}" : "a lease it names";
            return new EtcdLeaseNotFoundException(leaseId, $"{what} on etcd at {endpoint.Address}: {lease} does not exist (it expired or was revoked)", ex);
        }
        return new EtcdException($"{what} on etcd at {endpoint.Address} failed: {ex.StatusCode}: {detail}", ex);
    }
}
