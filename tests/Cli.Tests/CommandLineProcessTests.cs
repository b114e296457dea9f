extern alias daemon;
using System.Diagnostics;
using Lcluster.Client;
using DaemonFlags = daemon::Lcluster.Daemon.Hosting.DaemonFlags;

namespace Lcluster.Cli.Tests;

/// <summary>The built programs' command lines as a user meets them: help on stdout, usage errors as two lines and exit code 2.</summary>
public sealed class CommandLineProcessTests
{
    [Fact]
    public async Task Lclusterc_help_is_the_text_made_from_its_flag_definitions()
    {
        foreach (var flag in new[] { "--help", "-h" })
            Assert.Equal(new Run(0, Usage.Text(), ""), await RunAsync("lclusterc", flag));
    }

    [Fact]
    public async Task Lclusterd_help_is_the_text_made_from_its_flag_definitions()
    {
        Assert.Equal(new Run(0, DaemonFlags.Usage(), ""), await RunAsync("lclusterd", "--help"));
    }

    [Theory]
    [InlineData("lclusterc", "--nodes --nodes", "--nodes given twice")]
    [InlineData("lclusterc", "--addjob true --json", "--json does not go with --addjob")]
    [InlineData("lclusterc", "--server= --nodes", "--server needs a value: --server=ADDRESS")]
    [InlineData("lclusterc", "--listjobs --limit 0", "--limit: '0' is not a whole number from 1 to 100000")]
    [InlineData("lclusterd", "--rootfs /r --slots 1 --slots 2", "--slots given twice")]
    [InlineData("lclusterd", "--rootfs=/r --help", "--rootfs does not go with --help")]
    [InlineData("lclusterd", "--rootfs /r --lease-ttl 1m", "--fence-timeout (30s) must not be shorter than --lease-ttl (1m)")]
    public async Task A_usage_error_is_one_line_a_hint_and_exit_code_2(string program, string args, string message)
    {
        var run = await RunAsync(program, args.Split(' '));

        Assert.Equal(new Run(2, "", $"{program}: {message}\nTry '{program} --help'.\n"), run);
    }

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static async Task<Run> RunAsync(string program, params string[] args)
    {
        var path = RepoPaths.Bin(program);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run `make` first");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment.Remove("LCLUSTER_SERVER");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return new Run(process.ExitCode, await stdout, await stderr);
    }
}
