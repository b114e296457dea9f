using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Lcluster.Bench;

/// <summary>Stopping the throwaway Slurm so that nothing of it keeps running and no file of it stays.</summary>
internal sealed partial class SlurmCluster
{
    private const int SIGTERM = 15, SIGKILL = 9;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        // slurmctld and slurmd first (slurmd ends its steps); munged last, as they use it to the end.
        var slurm = _daemons.Where(d => d.Name != "munged").ToList();
        foreach (var (_, process) in slurm)
            Signal(process.Id, SIGTERM, process);
        foreach (var (name, process) in slurm)
            await StopAsync(name, process);
        await StopLeftoversAsync();
        foreach (var (name, process) in _daemons.Where(d => d.Name == "munged"))
        {
            Signal(process.Id, SIGTERM, process);
            await StopAsync(name, process);
        }
        foreach (var (_, process) in _daemons)
            process.Dispose();
        _daemons.Clear();
        Cpu?.Dispose();
        if (Directory.Exists(Layout.Root))
            Directory.Delete(Layout.Root, recursive: true);
    }

    private static void Signal(int pid, int signal, Process? process = null)
    {
        if (process is { HasExited: true })
            return;
        if (Kill(pid, signal) != 0 && Marshal.GetLastPInvokeError() != 3) // 3 = ESRCH: it has just ended
            throw new IOException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits for a daemon that was sent SIGTERM; SIGKILLs it when it does not end in time.</summary>
    private static async Task StopAsync(string name, Process process)
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Console.Error.WriteLine($"bench: {name} did not stop within {StopTimeout.TotalSeconds:0} s of SIGTERM; killing it");
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// slurmd starts each slurmstepd through a double fork, so they are not its children and would
    /// outlive it if one were stuck. They inherit slurmd's environment: ours carry this cluster's SLURM_CONF.
    /// </summary>
    private async Task StopLeftoversAsync()
    {
        var left = OwnProcesses();
        if (left.Count == 0)
            return;
        Console.Error.WriteLine($"bench: {left.Count} process(es) of the Slurm anchor outlived slurmd ({string.Join(", ", left)}); stopping them");
        foreach (var pid in left)
            Signal(pid, SIGTERM);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while ((left = OwnProcesses()).Count > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        foreach (var pid in left)
            Signal(pid, SIGKILL);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while ((left = OwnProcesses()).Count > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new IOException($"processes {string.Join(", ", left)} of the Slurm anchor survive SIGKILL; they hold {Layout.Root}");
            await Task.Delay(100);
        }
    }

    /// <summary>Processes other than munged whose environment names this cluster's slurm.conf.</summary>
    private List<int> OwnProcesses()
    {
        var marker = Encoding.UTF8.GetBytes($"SLURM_CONF={Layout.Config}\0");
        var munged = _daemons.Where(d => d.Name == "munged" && !d.Process.HasExited).Select(d => d.Process.Id).ToHashSet();
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || munged.Contains(pid))
                continue;
            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(marker) >= 0)
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that ended while /proc was being read.
            }
        }
        return found;
    }
}
