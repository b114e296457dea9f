using System.Diagnostics;

namespace Lcluster.TestSupport;

/// <summary>What a run of bin/lclusterc printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}; stdout: [{Stdout.TrimEnd()}]; stderr: [{Stderr.TrimEnd()}]";
}

/// <summary>Runs the built client as a user would (inside a network namespace when given).</summary>
public static class Cli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static Task<CliResult> RunAsync(string server, params string[] args) => RunInAsync(server, null, null, args);

    public static async Task<CliResult> RunInAsync(string server, string? @namespace, byte[]? stdin, params string[] args)
    {
        var program = RepoPaths.Bin("lclusterc");
        if (!File.Exists(program))
            throw new InvalidOperationException($"{program} is missing: run `make` first");
        var all = args.Append($"--server={server}").ToArray();
        var info = @namespace is null ? new ProcessStartInfo(program) : NetworkLab.Inside(@namespace, program);
        return await RunAsync(info, all, stdin);
    }

    /// <summary>Runs a program (lclusterc behind a wrapper such as setpriv) with these arguments, as RunInAsync does.</summary>
    public static Task<CliResult> RunProgramAsync(string program, IReadOnlyList<string> args) => RunAsync(new ProcessStartInfo(program), args, null);

    private static async Task<CliResult> RunAsync(ProcessStartInfo info, IReadOnlyList<string> all, byte[]? stdin)
    {
        foreach (var a in all)
            info.ArgumentList.Add(a);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.Environment.Remove("LCLUSTER_SERVER");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lclusterc {string.Join(' ', all)} did not finish within {Timeout.TotalSeconds}s");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs lclusterc and insists on exit code 0; returns its stdout.</summary>
    public static async Task<string> OkAsync(string server, string? @namespace, params string[] args)
    {
        var result = await RunInAsync(server, @namespace, null, args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"lclusterc {string.Join(' ', args)} failed: {result}");
        return result.Stdout;
    }
}
