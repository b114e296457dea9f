using System.Diagnostics;

namespace Lcluster.TestSupport;

/// <summary>`lclusterd ca …`, the built program's own certificate tool, as a test's set-up runs it.</summary>
public static class CertificateTool
{
    /// <summary>A new cluster CA in a temp directory (removed by the caller).</summary>
    public static string NewAuthority()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("lcluster-ca-").FullName, "ca");
        Run("ca", "init", $"--dir={dir}");
        return dir;
    }

    public static void Run(params string[] args)
    {
        var info = new ProcessStartInfo(RepoPaths.Bin("lclusterd")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd(); // a few lines: neither pipe fills while the other is read
        var stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException($"lclusterd {string.Join(' ', args)} did not finish within a minute");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"lclusterd {string.Join(' ', args)} failed ({process.ExitCode}): {stdout}{stderr}");
    }
}
