using System.Diagnostics;

namespace Lcluster.Bench;

/// <summary>
/// A throwaway single-node Slurm: its own munged, slurmctld and slurmd, run in the
/// foreground as children of the bench, every file under one scratch directory.
/// Disposing stops them all, any slurmstepd left behind included, and removes
/// the directory and the CPU-counting cgroups: the host is left as it was.
/// </summary>
internal sealed partial class SlurmCluster : IAsyncDisposable
{
    /// <summary>What the anchor runs; Debian's slurm-wlm and munge packages install them.</summary>
    public static readonly string[] Programs = ["munged", "slurmctld", "slurmd", "slurmstepd", "sbatch", "squeue", "sinfo"];

    /// <summary>The CPU groups: slurmd's holds its slurmstepds and the jobs, submit's the user's loop and its sbatch calls.</summary>
    public static readonly string[] CpuMembers = ["slurmctld", "slurmd", "munged", "submit"];

    private readonly List<(string Name, Process Process)> _daemons = [];

    private SlurmCluster(SlurmLayout layout, CpuGroups? cpu, string? cpuUnavailable)
    {
        Layout = layout;
        Cpu = cpu;
        CpuUnavailable = cpuUnavailable;
    }

    public SlurmLayout Layout { get; }
    public CpuGroups? Cpu { get; }
    public string? CpuUnavailable { get; }

    public static IReadOnlyList<string> MissingPrograms() => Programs.Where(p => Find(p) is null).ToArray();

    /// <summary>Sets the cluster up and returns once its node is idle; throws SlurmException saying why it did not start.</summary>
    public static async Task<SlurmCluster> StartAsync(string scratch, int cpus, int maxArraySize, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var layout = new SlurmLayout(Path.Combine(scratch, $"slurm-{id}"));
        var cpu = CpuGroups.TryCreate($"slurm-{id}", CpuMembers, out var cpuUnavailable);
        var cluster = new SlurmCluster(layout, cpu, cpuUnavailable);
        try
        {
            layout.Create();
            var (controllerPort, nodePort) = TwoFreePorts();
            File.WriteAllText(layout.Config, SlurmConfig.Render(layout, $"lcb{id}", controllerPort, nodePort, cpus, maxArraySize));
            await cluster.StartDaemonsAsync(ct);
            return cluster;
        }
        catch (Exception)
        {
            await cluster.DisposeAsync(); // what did start is stopped before the error goes up
            throw;
        }
    }

    private async Task StartDaemonsAsync(CancellationToken ct)
    {
        // --force: munged refuses a socket under a directory others cannot enter, and the bench's scratch
        // directory is root's alone (0700); every client of this munged runs as root.
        Start("munged", "munged", "--foreground", "--force", $"--socket={Layout.MungeSocket}", $"--key-file={Layout.MungeKey}",
            $"--log-file={Layout.Log("munged")}", $"--pid-file={Layout.PidFile("munged")}", $"--seed-file={Layout.MungeSeed}");
        await WaitUntilAsync(_ => Task.FromResult(File.Exists(Layout.MungeSocket)), TimeSpan.FromSeconds(10), ct);
        Start("slurmctld", "slurmctld", "-D", "-i");
        Start("slurmd", "slurmd", "-D", "-N", SlurmConfig.NodeName);
        await WaitUntilAsync(async token =>
        {
            var (code, output, _) = await TryRunAsync("sinfo", ["-h", "-n", SlurmConfig.NodeName, "-o", "%T"], token);
            return code == 0 && output.Trim() == "idle";
        }, TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>Runs a Slurm client command against this cluster; throws with its stderr when it fails.</summary>
    public async Task<string> RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var (code, output, error) = await TryRunAsync(program, args, ct);
        return code == 0 ? output : throw new SlurmException($"{program} {string.Join(' ', args)} exited {code}: {error.Trim()}");
    }

    /// <summary>Runs a shell script (a user's submit loop) in the given CPU group; returns its stdout.</summary>
    public async Task<string> RunShellAsync(string script, string cpuMember, CancellationToken ct)
    {
        var info = Shell(script, cpuMember);
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        using var process = Process.Start(info) ?? throw new SlurmException("/bin/sh did not start");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return process.ExitCode == 0 ? await output : throw new SlurmException($"`{script}` exited {process.ExitCode}: {(await error).Trim()}");
    }

    /// <summary>Returns once no job is pending, running or completing; asks squeue every 20 ms, so call it only when the end is near.</summary>
    public async Task WaitForEmptyQueueAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await RunAsync("squeue", ["-h", "-t", "PD,R,CG", "-o", "%i"], ct)).Trim().Length > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new SlurmException($"Slurm jobs still queued or completing after {timeout.TotalSeconds:0} s (see {Layout.LogDir})");
            await Task.Delay(20, ct);
        }
    }

    private void Start(string name, string program, params string[] args)
    {
        var info = Shell($"exec \"$@\" >>'{Layout.Log(name)}' 2>&1", name);
        info.ArgumentList.Add(Find(program)!);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        _daemons.Add((name, Process.Start(info) ?? throw new SlurmException($"{program} did not start")));
    }

    /// <summary>/bin/sh -c SCRIPT, first joining the member's CPU group (its children follow), in Slurm's environment.</summary>
    private ProcessStartInfo Shell(string script, string cpuMember)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = Layout.WorkDir };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Cpu is null ? script : $"echo $$ > '{Cpu.ProcsFile(cpuMember)}' && {script}");
        info.ArgumentList.Add(cpuMember); // $0
        SetEnvironment(info);
        return info;
    }

    private async Task<(int Code, string Output, string Error)> TryRunAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(Find(program) ?? program)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Layout.WorkDir,
        };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        SetEnvironment(info);
        using var process = Process.Start(info) ?? throw new SlurmException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>This cluster's slurm.conf, and no SLURM_* setting inherited from a Slurm the bench itself may run under.</summary>
    private void SetEnvironment(ProcessStartInfo info)
    {
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("SLURM_", StringComparison.Ordinal) || k.StartsWith("SBATCH_", StringComparison.Ordinal)
                     || k.StartsWith("SQUEUE_", StringComparison.Ordinal) || k.StartsWith("SINFO_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["SLURM_CONF"] = Layout.Config;
    }

    private async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await ready(ct))
        {
            if (_daemons.FirstOrDefault(d => d.Process.HasExited) is { Process: not null } dead)
                throw new SlurmException($"{dead.Name} exited with {dead.Process.ExitCode} at start: {Layout.LogTail(dead.Name)}");
            if (DateTime.UtcNow > deadline)
            {
                var waiting = _daemons[^1].Name;
                throw new SlurmException($"{waiting} was not ready after {timeout.TotalSeconds:0} s: {Layout.LogTail(waiting)}; {Layout.LogTail("slurmctld")}");
            }
            await Task.Delay(100, ct);
        }
    }

    private static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static (int, int) TwoFreePorts()
    {
        var first = BenchDaemon.FreePort();
        int second;
        do
            second = BenchDaemon.FreePort(); // the kernel may hand out the same free port twice in a row
        while (second == first);
        return (first, second);
    }
}
