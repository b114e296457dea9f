using Lcluster.Daemon.Api;
using Lcluster.Daemon.Web;

namespace Lcluster.Web.Tests;

/// <summary>The dashboard's tokens: who they name, how long they last, and what they may not do.</summary>
[Collection("web node")]
public sealed class DashboardTokenTests(WebNode node)
{
    [Fact]
    public void A_token_names_its_user_until_it_expires_and_any_change_to_it_is_refused()
    {
        var tokens = new DashboardTokens();
        var now = DateTimeOffset.UtcNow;
        var token = tokens.Issue(new Caller("alice\nadmin", IsAdmin: false), now.AddMinutes(5), TokenKind.Session);

        Assert.Equal(new Caller("alice\nadmin", false), tokens.Check(token, now, TokenKind.Session).Caller);
        Assert.Contains("expired", tokens.Check(token, now.AddMinutes(5), TokenKind.Session).Problem);
        var parts = token.Split('.');
        var forged = $"{parts[0]}.{Convert.ToBase64String("9999999999\n1\nsession x\nalice"u8).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{parts[2]}";
        Assert.Null(tokens.Check(forged, now, TokenKind.Session).Caller);
        Assert.Null(new DashboardTokens().Check(token, now, TokenKind.Session).Caller); // another node's (or a restarted node's) key
        Assert.Null(tokens.Check("garbage", now, TokenKind.Session).Caller);
    }

    [Fact]
    public void A_links_token_signs_nothing_in_and_is_given_once_for_a_sessions()
    {
        var tokens = new DashboardTokens();
        var now = DateTimeOffset.UtcNow;
        var link = tokens.Issue(new Caller("bob", IsAdmin: true), now.AddMinutes(5), TokenKind.Link);

        Assert.Null(tokens.Check(link, now, TokenKind.Session).Caller);
        var (session, check) = tokens.Redeem(link, now);
        var (again, refused) = tokens.Redeem(link, now.AddSeconds(1));

        Assert.Equal(new Caller("bob", true), tokens.Check(session!, now, TokenKind.Session).Caller);
        Assert.Equal(now.AddMinutes(5).ToUnixTimeSeconds(), check.Expires.ToUnixTimeSeconds());
        Assert.Null(again);
        Assert.Contains("used already", refused.Problem);
        Assert.Null(tokens.Redeem(session!, now).Session); // a session's token is no link
    }

    [Fact]
    public async Task The_link_lclusterc_prints_signs_the_browser_in_as_the_caller_and_the_token_cannot_mint_another()
    {
        var link = await Cli.OkAsync(node.Daemon.Server, null, "--dashboard");
        var url = new Uri(link.Trim());
        Assert.Equal(("http", node.Daemon.HttpAddress, "/ui/"), (url.Scheme, url.Authority, url.AbsolutePath));
        using var tcp = Http.OverTcp(node.Daemon.HttpAddress);
        var direct = await Http.SendAsync(tcp, HttpMethod.Get, "/v1/nodes", bearer: Http.LinkTokenOf(url));
        var token = await Http.SignInAsync(tcp, url);
        var twice = await Http.SendAsync(tcp, HttpMethod.Post, "/v1/dashboard/session", bearer: Http.LinkTokenOf(url));

        // The link's own token signs nothing in, and is given for a session once: a link seen elsewhere is spent.
        Assert.Equal(401, direct.Status);
        Assert.Contains("signs nothing in by itself", direct.Json.GetProperty("message").GetString());
        Assert.Equal(401, twice.Status);
        Assert.Contains("used already", twice.Json.GetProperty("message").GetString());
        var added = await Http.SendAsync(tcp, HttpMethod.Post, "/v1/jobs", """{"command": "true"}""", bearer: token);
        var job = await Http.SendAsync(tcp, HttpMethod.Get, $"/v1/jobs/{added.Json.GetProperty("id").GetString()}", bearer: token);
        var another = await Http.SendAsync(tcp, HttpMethod.Post, "/v1/dashboard/tokens", "{}", bearer: token);
        var tampered = await Http.SendAsync(tcp, HttpMethod.Get, "/v1/nodes", bearer: token[..^2] + "AA");

        Assert.Equal("root", job.Json.GetProperty("owner").GetString());
        Assert.Equal((403, "PERMISSION_DENIED"), (another.Status, another.Json.GetProperty("code").GetString()));
        Assert.Equal(401, tampered.Status);
        Assert.Contains("not one this node issued", tampered.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Only_the_authorization_header_carries_a_token_nothing_a_browser_sends_by_itself()
    {
        // A cookie goes to every port of its host, so a page another local user serves on another port would get
        // it: the node takes a token from Authorization: Bearer only, which only a script sends.
        using var tcp = Http.OverTcp(node.Daemon.HttpAddress);
        var token = await Http.SignInAsync(tcp, new Uri((await Cli.OkAsync(node.Daemon.Server, null, "--dashboard")).Trim()));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/nodes");
        request.Headers.Add("Cookie", $"lcluster_token={token}");

        using var withCookie = await tcp.SendAsync(request);
        var withHeader = await Http.SendAsync(tcp, HttpMethod.Get, "/v1/nodes", bearer: token);

        Assert.Equal(401, (int)withCookie.StatusCode);
        Assert.Equal(200, withHeader.Status);
    }

    [Fact]
    public async Task An_event_stream_a_token_opened_ends_when_the_token_expires()
    {
        // A token checked only when the stream opened would let its holder watch every change for good.
        await using var shortLived = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "short-token", HttpListen = true, ExtraArgs = ["--dashboard-ttl=3s"] });
        using var tcp = Http.OverTcp(shortLived.HttpAddress);
        var token = await Http.SignInAsync(tcp, new Uri((await Cli.OkAsync(shortLived.Server, null, "--dashboard")).Trim()));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var stream = await tcp.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)stream.StatusCode);
        using var ended = new CancellationTokenSource(TimeSpan.FromSeconds(15)); // the node's keep-alive comments come every 15 s
        await (await stream.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null, ended.Token); // throws if the stream outlives the wait

        Assert.Equal(401, (await Http.SendAsync(tcp, HttpMethod.Get, "/v1/nodes", bearer: token)).Status);
    }

    [Fact]
    public async Task A_node_without_http_listen_says_how_to_turn_the_dashboard_on()
    {
        await using var bare = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "no-http" });

        var link = await Cli.RunAsync(bare.Server, "--dashboard");

        Assert.Equal(1, link.ExitCode);
        Assert.Contains("--http-listen", link.Stderr);
        Assert.Equal("", link.Stdout);
    }

    [Fact]
    public async Task Http_listen_off_loopback_without_a_certificate_or_insecure_refuses_to_start()
    {
        var data = Directory.CreateTempSubdirectory("lcluster-web-refused-").FullName;
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo(RepoPaths.Bin("lclusterd")) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { $"--rootfs={RepoPaths.RootFs}", $"--data-dir={data}/d", $"--socket={data}/s.sock", "--http-listen=0.0.0.0:1" })
                info.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(info)!;
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(1, process.ExitCode);
            Assert.Equal("lclusterd: --http-listen 0.0.0.0:1 is not a loopback address, and the node has no certificate: give it one (--tls-ca, --tls-cert, --tls-key) " +
                         "or, on a network nobody else can reach, --insecure\n", stderr);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
