using System.Net.Http;
using System.Net.Sockets;
using Lcluster.Rpc;

namespace Lcluster.Etcd;

/// <summary>Turns what a gRPC call to etcd threw into the etcd exception a caller can act on.</summary>
internal static class EtcdErrors
{
    /// <summary>The endpoint did not answer: worth trying another one (for a request that is safe to repeat).</summary>
    public static bool IsUnanswered(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        || (ex.StatusCode == StatusCode.Unknown && (ex.Detail.Contains("context deadline exceeded", StringComparison.Ordinal)
            // Rpc reports some connection failures (a reset during HTTP/2 set-up, a connection shut down under a stream)
            // as UNKNOWN with the transport's exception inside; etcd's own UNKNOWN statuses carry none.
            || ex.InnerException is not null));

    /// <summary>The request never left this machine (no connection could be made), so even a write may be sent elsewhere.</summary>
    public static bool NeverSent(RpcException ex)
    {
        for (Exception? e = ex.InnerException; e != null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable
                    or SocketError.NetworkUnreachable or SocketError.NetworkDown or SocketError.HostNotFound })
                return true;
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
                return true;
        }
        return false;
    }

    /// <summary>Why an endpoint did not answer, in words, without the Rpc layer's "cannot reach host:port: " prefix.</summary>
    public static string Cause(RpcException ex, TimeSpan timeout)
    {
        if (ex.StatusCode != StatusCode.Unavailable)
            return $"no answer within {timeout.TotalSeconds:0.###} s";
        const string Prefix = "cannot reach ";
        var detail = ex.Detail;
        var colon = detail.StartsWith(Prefix, StringComparison.Ordinal) ? detail.IndexOf(": ", StringComparison.Ordinal) : -1;
        return colon >= 0 ? detail[(colon + 2)..] : detail;
    }

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
        if (ex.StatusCode == StatusCode.OutOfRange && ex.Detail.Contains("compacted", StringComparison.Ordinal))
            return new EtcdCompactedException(0, $"{what} on etcd at {endpoint.Address}: {ex.Detail}; re-read the current state", ex);
        if (ex.StatusCode == StatusCode.NotFound && ex.Detail.Contains("lease not found", StringComparison.Ordinal))
        {
            var lease = leaseId != 0 ? $"lease {leaseId:x}" : "a lease it names";
            return new EtcdLeaseNotFoundException(leaseId, $"{what} on etcd at {endpoint.Address}: {lease} does not exist (it expired or was revoked)", ex);
        }
        return new EtcdException($"{what} on etcd at {endpoint.Address} failed: {ex.StatusCode}: {ex.Detail}", ex);
    }
}
