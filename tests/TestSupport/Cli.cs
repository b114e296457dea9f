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

    public static Task<CliResult> RunInAsync(string server, string? @namespace, byte[]? stdin, params string[] args)
    {
        var program = RepoPaths.Bin("lclusterc");
        if (!File.Exists(program))
            throw new InvalidOperationException($"{program} is missing: run `make` first");
        var all = args.Append($"--server={server}").ToArray();
        var info = @namespace is null ? new ProcessStartInfo(program) : NetworkLab.Inside(@namespace, program);
        foreach (var a in all)
            info.ArgumentList.Add(a);
        return RunAsync(info, stdin);
    }

    /// <summary>Runs a program (lclusterc behind a wrapper such as setpriv) with these arguments, as RunInAsync does.</summary>
    public static Task<CliResult> RunProgramAsync(string program, IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(program);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return RunAsync(info, null);
    }

    /// <summary>
    /// Runs lclusterc as another user (a uid and its group from /etc/passwd), with <paramref name="extraGroup"/> as
    /// its one supplementary group when given: a caller the daemon knows only by what the kernel says of its socket.
    /// The program is a copy in a directory anyone may enter, wherever the repository lies.
    /// </summary>
    public static Task<CliResult> RunAsUserAsync(string user, string? extraGroup, string server, params string[] args)
    {
        var info = new ProcessStartInfo(Requires.Program("setpriv"))
        {
            ArgumentList = { $"--reuid={user}", $"--regid={Group(user)}", extraGroup is null ? "--clear-groups" : $"--groups={extraGroup}", "--", OpenCopy.Value },
        };
        foreach (var a in args.Append($"--server={server}"))
            info.ArgumentList.Add(a);
        return RunAsync(info, null);
    }

    private static readonly Lazy<string> OpenCopy = new(() =>
    {
        var dir = Path.Combine("/tmp", $"lcluster-client-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755
        var copy = Path.Combine(dir, "lclusterc");
        File.Copy(RepoPaths.Bin("lclusterc"), copy, overwrite: true);
        File.SetUnixFileMode(copy, (UnixFileMode)0x1ED);
        // The test process's own copy: gone with it, as the host was found.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        return copy;
    });

    /// <summary>The primary group of a user, from /etc/passwd.</summary>
    private static string Group(string user) =>
        File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f[0] == user)?[3]
        ?? throw new InvalidOperationException($"no user {user} in /etc/passwd");

    private static async Task<CliResult> RunAsync(ProcessStartInfo info, byte[]? stdin)
    {
        var all = info.ArgumentList.ToArray();
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
            throw new TimeoutException($"{info.FileName} {string.Join(' ', all)} did not finish within {Timeout.TotalSeconds}s");
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
