using Microsoft.Playwright;

namespace Lcluster.Web.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's chromium), signed in with the link `lclusterc --dashboard` prints: a
/// job submitted from its form is followed live to its end with its output; another is cancelled from its page.
/// </summary>
[Collection("web node")]
public sealed class DashboardBrowserTests(WebNode node)
{
    private static readonly float Soon = 30_000;

    [Fact]
    public async Task In_a_browser_a_job_submitted_from_the_form_runs_to_its_end_with_its_output_and_another_is_cancelled()
    {
        var link = (await Cli.OkAsync(node.Daemon.Server, null, "--dashboard")).Trim();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var problems = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") problems.Add(message.Text); };
        page.PageError += (_, error) => problems.Add(error);

        await page.GotoAsync(link);
        Assert.Equal($"http://{node.Daemon.HttpAddress}/ui/", page.Url); // the token left the address bar
        await Expect(page.Locator("#live")).ToHaveTextAsync("live", new() { Timeout = Soon });
        await Expect(page.Locator("#user")).ToHaveTextAsync("signed in as root (admin)");
        Assert.Empty(await page.Context.CookiesAsync()); // nothing the browser would send by itself
        await Expect(page.Locator($"#nodes tr[data-name='{node.Daemon.NodeName}']")).ToContainTextAsync("★ prime");

        // Submitted from the form, with limits: followed to its end by the event stream, its output streamed in.
        await page.FillAsync("#command", "echo hello-from-the-browser; sleep 1; echo done >&2; echo bye # \u001b[31mred");
        await page.FillAsync("#name", "<img src=x onerror=alert(1)>");
        await page.FillAsync("#memory", "64M");
        await page.FillAsync("#time", "1m");
        await page.ClickAsync("#submit");
        await Expect(page.Locator("#submitted")).ToContainTextAsync("queued ", new() { Timeout = Soon });
        var id = (await page.Locator("#submitted").TextContentAsync())!["queued ".Length..];
        var row = page.Locator($"#jobs tr[data-id='{id}']");
        await Expect(row.Locator(".state")).ToHaveTextAsync("succeeded", new() { Timeout = Soon });
        await Expect(page.Locator("dd[data-field='state']")).ToHaveTextAsync("succeeded");
        await Expect(page.Locator("dd[data-field='exit code']")).ToHaveTextAsync("0");
        await Expect(page.Locator("dd[data-field='limits']")).ToContainTextAsync("memory 64 MiB");
        await Expect(page.Locator("#output")).ToHaveTextAsync("hello-from-the-browser\nbye\n", new() { Timeout = Soon });
        await Expect(page.Locator("#output-state")).ToHaveTextAsync("end of output");
        await page.ClickAsync("#show-stderr");
        await Expect(page.Locator("#output")).ToHaveTextAsync("done\n");
        // A name made of markup, and a command with a terminal escape sequence, are shown as the text they are.
        await Expect(row.Locator("td").Nth(1)).ToHaveTextAsync("<img src=x onerror=alert(1)>");
        await Expect(row.Locator("td").Nth(6)).ToContainTextAsync("echo bye # \\x1b[31mred");
        Assert.Equal(0, await page.Locator("#jobs img").CountAsync());
        var job = await node.WaitForStateAsync(id, TimeSpan.FromSeconds(5), "JOB_STATE_SUCCEEDED");
        Assert.Equal("67108864", job.GetProperty("limits").GetProperty("memory_bytes").GetString());

        // Another, cancelled from its page while it runs.
        await page.FillAsync("#command", "sleep 300");
        await page.FillAsync("#name", "to-cancel");
        await page.ClickAsync("#submit");
        await Expect(page.Locator("dd[data-field='state']")).ToHaveTextAsync("running", new() { Timeout = Soon });
        var cancelled = (await page.Locator("#details-id").TextContentAsync())!;
        await page.ClickAsync("#cancel");
        await Expect(page.Locator("dd[data-field='state']")).ToHaveTextAsync("cancelled", new() { Timeout = Soon });
        await Expect(page.Locator($"#jobs tr[data-id='{cancelled}'] .state")).ToHaveTextAsync("cancelled");
        await node.WaitForStateAsync(cancelled, TimeSpan.FromSeconds(5), "JOB_STATE_CANCELLED");

        // The state filter: only cancelled jobs listed.
        await page.SelectOptionAsync("#state-filter", "cancelled");
        await Expect(page.Locator($"#jobs tr[data-id='{id}']")).ToHaveCountAsync(0);
        await Expect(page.Locator($"#jobs tr[data-id='{cancelled}']")).ToHaveCountAsync(1);
        await page.SelectOptionAsync("#state-filter", "");
        await page.Locator($"#jobs tr[data-id='{id}']").ClickAsync();
        await page.ClickAsync("#show-stdout");
        await Expect(page.Locator("#output")).ToHaveTextAsync("hello-from-the-browser\nbye\n", new() { Timeout = Soon });

        await SaveScreenshotAsync(page);
        Assert.True(problems.Count == 0, $"the page reported errors:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public async Task A_browser_without_a_valid_token_is_told_how_to_sign_in()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.Browser.NewPageAsync();

        await page.GotoAsync($"http://{node.Daemon.HttpAddress}/ui/#token=v1.forged.token");
        await Expect(page.Locator("#problem")).ToContainTextAsync("not one this node issued", new() { Timeout = Soon });
        await Expect(page.Locator("#problem")).ToContainTextAsync("lclusterc --dashboard");
        Assert.Equal(0, await page.Locator("#nodes tbody tr").CountAsync());

        var other = await chromium.Browser.NewPageAsync();
        await other.GotoAsync($"http://{node.Daemon.HttpAddress}/ui/");
        await Expect(other.Locator("#user")).ToHaveTextAsync("not signed in");
        await Expect(other.Locator("#problem")).ToContainTextAsync("lclusterc --dashboard", new() { Timeout = Soon });
        Assert.Equal(0, await other.Locator("#nodes tbody tr").CountAsync());
    }

    [Fact]
    public async Task A_page_on_another_port_of_the_host_gets_nothing_of_the_signed_in_dashboard()
    {
        // Another local user's web server on the same host: the same site, for a browser, as the node's dashboard.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var elsewhere = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";
        var heard = new List<string>();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var peer = await listener.AcceptTcpClientAsync(stop.Token);
                var stream = peer.GetStream();
                var request = new byte[16384];
                var n = await stream.ReadAsync(request, stop.Token);
                lock (heard)
                    heard.Add(System.Text.Encoding.ASCII.GetString(request, 0, n));
                var page = "<!doctype html><title>elsewhere</title><p>elsewhere</p>"u8.ToArray();
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n"), stop.Token);
                await stream.WriteAsync(page, stop.Token);
            }
        });
        var link = (await Cli.OkAsync(node.Daemon.Server, null, "--dashboard")).Trim();
        await using var chromium = await Chromium.LaunchAsync();
        var context = await chromium.Browser.NewContextAsync();
        var dashboard = await context.NewPageAsync();
        await dashboard.GotoAsync(link);
        await Expect(dashboard.Locator("#live")).ToHaveTextAsync("live", new() { Timeout = Soon });

        // The other port's page, in the same browser: what its server receives, and what its script can make the node do.
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{elsewhere}/");
        var status = await page.EvaluateAsync<int>($$"""
            async () => {
              await fetch('/again', { credentials: 'include' });
              const answer = await fetch('http://{{node.Daemon.HttpAddress}}/v1/jobs', { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"command": "true"}' });
              return answer.status;
            }
            """);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);

        Assert.Equal(0, status); // an opaque answer: the page learns nothing
        string[] requests;
        lock (heard)
            requests = [.. heard];
        Assert.True(requests.Length >= 2, string.Join("\n---\n", requests));
        Assert.DoesNotContain(requests, r => r.Contains("lcluster", StringComparison.OrdinalIgnoreCase) || r.Contains("v1.", StringComparison.Ordinal));
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    /// <summary>Kept beside the test's output, and in the repository's docs/ when LCLUSTER_DASHBOARD_SCREENSHOT names a path.</summary>
    private static async Task SaveScreenshotAsync(IPage page)
    {
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        await File.WriteAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "dashboard.png"), png);
        if (Environment.GetEnvironmentVariable("LCLUSTER_DASHBOARD_SCREENSHOT") is { Length: > 0 } path)
            await File.WriteAllBytesAsync(path, png);
    }
}
