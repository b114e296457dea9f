using System.Collections.Concurrent;
using Lcluster.Daemon.Api;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// How many calls one user (not an admin, not a node) may have open on a node at once, gRPC and HTTP together
/// (docs/security.md, "Call limits"). An open call holds what it costs until it ends — its request message in
/// memory, a stream's etcd watch, an output file followed, an upload's file, a relay to another node — and the
/// connection limits alone (256 a peer, up to 100 streams each) would let one user hold tens of thousands. Over
/// the limit a call is refused with RESOURCE_EXHAUSTED before its request is read.
/// </summary>
internal sealed class CallLimits
{
    public const int PerUser = 128;

    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>A place for the caller's call, given back on Dispose; null when the caller has none left. Admins are not counted.</summary>
    public Slot? TryEnter(Caller caller)
    {
        if (caller.IsAdmin)
            return Slot.Uncounted;
        if (_open.AddOrUpdate(caller.User, 1, (_, n) => n + 1) > PerUser)
        {
            Leave(caller.User);
            return null;
        }
        return new Slot(this, caller.User);
    }

    public static string Refusal(Caller caller) =>
        $"{caller.User} has {PerUser} calls open on this node, the most one user may: end some (streams, follows, uploads) and try again";

    /// <summary>
    /// Request middleware for gRPC calls (the HTTP API counts its calls itself, once a dashboard token has named the
    /// caller): refused as a gRPC status without a body, before the request's message is read. A call is gRPC by its
    /// content type in any case, as Grpc.AspNetCore takes it.
    /// </summary>
    public Func<HttpContext, RequestDelegate, Task> GrpcMiddleware => async (http, next) =>
    {
        if (http.Features.Get<Caller>() is not { } caller || !(http.Request.ContentType ?? "").StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            await next(http);
            return;
        }
        using var slot = TryEnter(caller);
        if (slot is null)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/grpc";
            http.Response.Headers["grpc-status"] = ((int)Grpc.Core.StatusCode.ResourceExhausted).ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.Headers["grpc-message"] = Uri.EscapeDataString(Refusal(caller));
            return;
        }
        await next(http);
    };

    private void Leave(string user)
    {
        if (_open.AddOrUpdate(user, 0, (_, n) => n - 1) <= 0)
            _open.TryRemove(new KeyValuePair<string, int>(user, 0));
    }

    internal sealed class Slot(CallLimits? limits, string user) : IDisposable
    {
        public static readonly Slot Uncounted = new(null, "");
        private int _left;

        public void Dispose()
        {
            if (limits is not null && Interlocked.Exchange(ref _left, 1) == 0)
                limits.Leave(user);
        }
    }
}
