using System.Net;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// What a browser may make the node do for a page the node did not serve (docs/http.md, "Other sites' pages"):
/// nothing that changes anything, and on plain HTTP nothing at all through a name that is not the node's. A
/// browser sends some credentials by itself — a client certificate the user imported, and on an --insecure
/// endpoint every caller is an admin — so a page of another site, or of another port of the same host, must not
/// be able to spend them: its requests carry Sec-Fetch-Site or an Origin that says where they come from. A page
/// that rebinds its own name to the node's address is its own origin; the Host it sends names it.
/// </summary>
internal static class CrossSite
{
    /// <summary>Why the request is refused; null when it may go on.</summary>
    public static string? Refusal(HttpRequest request, HttpSurface surface)
    {
        if (surface.Names is { } names && !IsNodeName(request.Host.Host, names))
            return $"Host '{request.Host.Host}' is not a name of this node: a page whose own name was pointed at this address " +
                   "cannot use it; call the node by its address, localhost or its host name";
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            return null;
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site")
            return $"a change asked by a page of another site ({site}) is refused: only the node's own dashboard, scripts and clients may";
        var origin = request.Headers.Origin.ToString();
        var own = $"{(surface.Tls ? "https" : "http")}://{request.Host.Value}";
        if (origin.Length > 0 && !string.Equals(origin, own, StringComparison.OrdinalIgnoreCase))
            return $"a change asked by a page of {origin} is refused: only the node's own dashboard, scripts and clients may";
        return null;
    }

    /// <summary>The names a plain-HTTP endpoint answers to besides IP addresses: localhost, the host's name and the advertised host.</summary>
    public static IReadOnlySet<string> NodeNames(string advertise)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", Dns.GetHostName() };
        var colon = advertise.LastIndexOf(':');
        var host = (colon > 0 ? advertise[..colon] : advertise).Trim('[', ']');
        if (host.Length > 0)
            names.Add(host);
        return names;
    }

    private static bool IsNodeName(string host, IReadOnlySet<string> names) =>
        IPAddress.TryParse(host.Trim('[', ']'), out _) || names.Contains(host.TrimEnd('.'));
}
