using Lcluster.Daemon.Api;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// Put on a request whose caller a dashboard token named (not its connection): such a caller may not mint tokens, and
/// what it streams ends when the token expires.
/// </summary>
internal sealed record TokenSession(DateTimeOffset Expires);

/// <summary>
/// Who an HTTP request comes from (docs/http.md): what its connection proves, as for gRPC (the socket peer's
/// uid, a client certificate, --insecure); else a dashboard token in "Authorization: Bearer", which a browser never
/// sends by itself: the dashboard's script sends it, scripts and curl do.
/// </summary>
internal sealed class WebIdentity(DashboardTokens tokens)
{
    /// <summary>Sets the request's <see cref="Caller"/> when it has one; returns why a token it carries was refused (null: none was).</summary>
    public string? Establish(HttpContext http)
    {
        if (http.Features.Get<Caller>() is not null)
            return null;
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return null;
        var check = tokens.Check(authorization["Bearer ".Length..].Trim(), DateTimeOffset.UtcNow, TokenKind.Session);
        if (check.Caller is null)
            return check.Problem;
        http.Features.Set(check.Caller);
        http.Features.Set(new TokenSession(check.Expires));
        return null;
    }
}
