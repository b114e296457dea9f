using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lcluster.Daemon.Web;

/// <summary>
/// The web dashboard's files (Web/ui/), embedded in the binary and served under /ui/ on the HTTP endpoints
/// (docs/http.md). They hold no data: anyone may load them; every number they show comes from the API, as the
/// signed-in user. The link /ui/#token=TOKEN carries the token in its fragment, which the browser never sends: the
/// page's script keeps it for the tab (sessionStorage) and sends it with each call.
/// </summary>
internal sealed class Dashboard
{
    /// <summary>Only this node's own files and API; no inline script, no framing; the token never leaves in a Referer.</summary>
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
                                  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", http => Redirect(http, "/ui/"));
        // One route for /ui and /ui/ (routing does not tell them apart); the page's relative links need the slash.
        app.MapGet("/ui/", http => !(http.Request.Path.Value ?? "").EndsWith('/') ? Redirect(http, "/ui/")
            : ServeAsync(http, "index.html"));
        app.MapGet("/ui/{file}", http => ServeAsync(http, http.Request.RouteValues["file"] as string ?? ""));
    }

    private static async Task ServeAsync(HttpContext http, string file)
    {
        if (!OnSurface(http))
            return;
        Secure(http);
        await using var content = Types.TryGetValue(Path.GetExtension(file), out var type) && !file.Contains('/')
            ? typeof(Dashboard).Assembly.GetManifestResourceStream("ui/" + file)
            : null;
        if (content is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        http.Response.ContentType = type;
        http.Response.ContentLength = content.Length;
        await content.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    private static Task Redirect(HttpContext http, string to)
    {
        if (!OnSurface(http))
            return Task.CompletedTask;
        http.Response.Headers.Location = to;
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        return Task.CompletedTask;
    }

    private static void Secure(HttpContext http)
    {
        http.Response.Headers.ContentSecurityPolicy = Policy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.Headers.CacheControl = "no-cache";
    }

    /// <summary>The gRPC endpoints serve no dashboard.</summary>
    private static bool OnSurface(HttpContext http)
    {
        if (http.Features.Get<HttpSurface>() is not null)
            return true;
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        return false;
    }
}
