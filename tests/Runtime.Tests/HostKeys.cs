using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

/// <summary>Keys host root adds with keyctl (keyutils) to its user keyring and to the user-session keyring, its @s here.</summary>
internal sealed class HostKeys(string description, string evidence) : IAsyncDisposable
{
    public string Evidence => evidence;

    public static async Task<HostKeys> AddAsync(string description)
    {
        foreach (var keyring in new[] { "@u", "@us" })
        {
            var (code, output) = await RunAsync("add", "user", description, "host-secret", keyring);
            Assert.True(code == 0, $"keyctl add to {keyring} failed: {output}");
        }
        var (_, shown) = await RunAsync("show", "@s");
        return new HostKeys(description, shown);
    }

    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(Requires.Program("keyctl"), args)
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, output + error);
    }

    public async ValueTask DisposeAsync()
    {
        // Unlinking from both keyrings drops the last references: the keys are garbage-collected.
        foreach (var keyring in new[] { "@u", "@us" })
        {
            var (found, serial) = await RunAsync("search", keyring, "user", description);
            if (found == 0)
                await RunAsync("unlink", serial.Trim(), keyring);
        }
    }
}
