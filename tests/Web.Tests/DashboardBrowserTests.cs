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

        var refused = await page.GotoAsync($"http://{node.Daemon.HttpAddress}/ui/?token=v1.forged.token");
        Assert.Equal(401, refused!.Status);
        Assert.Contains("lclusterc --dashboard", await page.ContentAsync());

        await page.GotoAsync($"http://{node.Daemon.HttpAddress}/ui/");
        await Expect(page.Locator("#problem")).ToContainTextAsync("lclusterc --dashboard", new() { Timeout = Soon });
        Assert.Equal(0, await page.Locator("#nodes tbody tr").CountAsync());
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
