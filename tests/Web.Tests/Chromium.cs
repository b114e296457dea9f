using Microsoft.Playwright;

namespace Lcluster.Web.Tests;

/// <summary>
/// Debian's chromium (/usr/bin/chromium, `make deps`) under Playwright, headless, with nothing of its own reaching
/// out (no sync, updates, background networking). Playwright never downloads a browser here: a missing chromium
/// fails the test, saying how to install it.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string Program = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        if (!File.Exists(Program))
            throw new InvalidOperationException($"this test needs Debian's chromium at {Program}: run `make deps` (apt-get install chromium)");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Program,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        _playwright.Dispose();
    }
}
