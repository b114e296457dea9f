using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Lcluster.Daemon.Api;
using Lcluster.V1;

namespace Lcluster.Daemon.Web;

/// <summary>
/// CreateDashboardToken: a token naming the caller, and the URL of this node's dashboard with it. Only a caller
/// the connection itself proves may have one: a token does not mint the next, so a leaked link dies with its token.
/// </summary>
internal sealed class DashboardApi(DashboardTokens tokens, IPEndPoint? httpListen, bool tls, string advertise, TimeSpan lifetime)
{
    public Task<DashboardToken> CreateTokenAsync(CreateDashboardTokenRequest request, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        if (context.GetHttpContext().Features.Get<TokenSession>() is not null)
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                "a dashboard token cannot get another: run `lclusterc --dashboard` on the node (or with your certificate) for a new one"));
        if (httpListen is null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                "this node serves no dashboard on TCP: start lclusterd with --http-listen=127.0.0.1:64080 (or another address), then ask again"));
        var expires = DateTimeOffset.UtcNow + lifetime;
        var token = tokens.Issue(caller, expires, TokenKind.Link);
        return Task.FromResult(new DashboardToken
        {
            Token = token,
            ExpiresAt = Timestamp.FromDateTimeOffset(expires),
            Url = $"{(tls ? "https" : "http")}://{Authority(httpListen, advertise)}/ui/#token={token}",
            User = caller.User,
        });
    }

    /// <summary>
    /// POST /v1/dashboard/session: a session's token for a dashboard link's, given once (the page the link opens asks
    /// for it). The link's token comes as Authorization: Bearer, and signs nothing else in.
    /// </summary>
    public DashboardToken StartSession(Microsoft.AspNetCore.Http.HttpContext http)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            throw new RpcException(new Status(StatusCode.Unauthenticated, "give the dashboard link's token as Authorization: Bearer TOKEN"));
        var (session, check) = tokens.Redeem(authorization["Bearer ".Length..].Trim(), DateTimeOffset.UtcNow);
        if (session is null || check.Caller is not { } caller)
            throw new RpcException(new Status(StatusCode.Unauthenticated, check.Problem ?? "the dashboard link was refused"));
        return new DashboardToken { Token = session, ExpiresAt = Timestamp.FromDateTimeOffset(check.Expires), User = caller.User };
    }

    /// <summary>host:port of the listen address; for a wildcard address, the host the node advertises to the cluster.</summary>
    private static string Authority(IPEndPoint listen, string advertise)
    {
        if (!listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
            return listen.ToString();
        var host = advertise[..advertise.LastIndexOf(':')];
        return $"{host}:{listen.Port}";
    }
}
