using Lcluster.Daemon.Api;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>Put on a request whose caller a dashboard token named (not its connection): such a caller may not mint tokens.</summary>
internal sealed class TokenSession
{
    public static readonly TokenSession Instance = new();
}

/// <summary>
/// Who an HTTP request comes from (docs/http.md): what its connection proves, as for gRPC (the socket peer's
/// uid, a client certificate, --insecure); else a dashboard token, from "Authorization: Bearer" or the dashboard's
/// cookie. A cookie alone cannot change anything: a request that changes something must also carry the header the
/// dashboard's script sends, which another site's page cannot send without this node's leave (CORS, never given).
/// </summary>
internal sealed class WebIdentity(DashboardTokens tokens)
{
    public const string Cookie = "lcluster_token";
    public const string ScriptHeader = "X-Lcluster-Dashboard";

    /// <summary>Sets the request's <see cref="Caller"/> when it has one; returns why a token it carries was refused (null: none was).</summary>
    public string? Establish(HttpContext http)
    {
        if (http.Features.Get<Caller>() is not null)
            return null;
        string? token = null;
        var fromCookie = false;
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            token = authorization["Bearer ".Length..].Trim();
        else if (http.Request.Cookies.TryGetValue(Cookie, out var cookie) && cookie.Length > 0)
            (token, fromCookie) = (cookie, true);
        if (token is null)
            return null;
        var check = tokens.Check(token, DateTimeOffset.UtcNow);
        if (check.Caller is null)
            return check.Problem;
        if (fromCookie && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && !http.Request.Headers.ContainsKey(ScriptHeader))
            return $"a change made with the dashboard's cookie must carry the {ScriptHeader} header the dashboard sends";
        http.Features.Set(check.Caller);
        http.Features.Set(TokenSession.Instance);
        return null;
    }
}
