using System.Text;

namespace Lcluster.Web.Tests;

/// <summary>
/// A page of another site, or of another port of the same host, in a browser that reaches the node: on an
/// --insecure HTTP endpoint every caller is an admin, so what stops it is what the browser says of where a request
/// comes from (Origin, Sec-Fetch-Site), the body's type, and the Host a page with a rebound name sends.
/// </summary>
public sealed class CrossSiteTests : IAsyncLifetime
{
    private DaemonProcess _daemon = null!;
    private HttpClient _tcp = null!;

    public async Task InitializeAsync()
    {
        _daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "cross-site", HttpListen = true, ExtraArgs = ["--insecure"] });
        _tcp = Http.OverTcp(_daemon.HttpAddress);
    }

    public async Task DisposeAsync()
    {
        _tcp.Dispose();
        await _daemon.DisposeAsync();
    }

    [Fact]
    public async Task A_change_asked_by_another_sites_page_is_refused_and_the_nodes_own_page_is_not()
    {
        var own = $"http://{_daemon.HttpAddress}";
        var otherPort = $"http://127.0.0.1:{_daemon.HttpPort + 1}";
        var refused = new List<string>();
        foreach (var (origin, site) in new (string?, string?)[] { ("http://evil.example", null), (otherPort, null), ("null", null), (null, "cross-site"), (null, "same-site") })
        {
            var answer = await PostJobAsync("application/json", origin, site);
            if (answer.Status != 403 || !answer.Body.Contains("is refused", StringComparison.Ordinal))
                refused.Add($"Origin {origin}, Sec-Fetch-Site {site}: {answer}");
        }
        Assert.True(refused.Count == 0, string.Join("\n", refused));
        Assert.Empty((await Http.SendAsync(_tcp, HttpMethod.Get, "/v1/jobs")).Json.GetProperty("jobs").EnumerateArray());

        // The node's own dashboard sends its own origin, and same-origin; a script or curl sends neither.
        Assert.Equal(200, (await PostJobAsync("application/json", own, "same-origin")).Status);
        Assert.Equal(200, (await PostJobAsync("application/json", null, null)).Status);
        Assert.Equal(2, (await Http.SendAsync(_tcp, HttpMethod.Get, "/v1/jobs")).Json.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task A_body_a_page_could_send_unasked_is_refused_for_its_type()
    {
        // fetch(..., {mode: 'no-cors', body: new Blob([json])}) sends no Content-Type; text/plain needs no leave either.
        var untyped = await PostJobAsync(null, null, null);
        var text = await PostJobAsync("text/plain", null, null);
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/v1/inputs") { Content = new ByteArrayContent(new byte[1024]) };
        upload.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using var uploaded = await _tcp.SendAsync(upload);

        Assert.Equal(400, untyped.Status);
        Assert.Contains("no Content-Type", untyped.Body);
        Assert.Equal(400, text.Status);
        Assert.Equal(400, (int)uploaded.StatusCode);
        Assert.Contains("Content-Type: application/x-tar", await uploaded.Content.ReadAsStringAsync());
        Assert.Empty((await Http.SendAsync(_tcp, HttpMethod.Get, "/v1/jobs")).Json.GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task A_page_whose_name_was_rebound_to_the_node_is_refused_by_its_host_name()
    {
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        rebound.Headers.Host = $"attacker.example:{_daemon.HttpPort}";
        using var answer = await _tcp.SendAsync(rebound);
        using var byLocalhost = new HttpRequestMessage(HttpMethod.Get, "/v1/jobs");
        byLocalhost.Headers.Host = $"localhost:{_daemon.HttpPort}";
        using var local = await _tcp.SendAsync(byLocalhost);

        Assert.Equal(403, (int)answer.StatusCode);
        Assert.Contains("is not a name of this node", await answer.Content.ReadAsStringAsync());
        Assert.Equal(200, (int)local.StatusCode);
    }

    private async Task<HttpAnswer> PostJobAsync(string? type, string? origin, string? site)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"command": "true"}""")) };
        if (type is not null)
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
        if (origin is not null)
            request.Headers.Add("Origin", origin);
        if (site is not null)
            request.Headers.Add("Sec-Fetch-Site", site);
        using var response = await _tcp.SendAsync(request);
        return new HttpAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(), response.Headers);
    }
}
