using Lcluster.Runtime.Native;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

/// <summary>
/// A real Sandbox on this machine with its own cgroup parent (lcluster-test/&lt;id&gt;)
/// and work directory, both removed afterwards. Fails (never skips) without root.
/// </summary>
public sealed class SandboxFixture : IAsyncLifetime
{
    public const string TestCgroupRoot = "lcluster-test";
    private int _counter;

    public string Id { get; } = Guid.NewGuid().ToString("N")[..12];
    public string Work => Path.Combine(Path.GetTempPath(), "lcluster-rt-" + Id);
    public string JobsDirectory => Path.Combine(Work, "jobs");
    public string OutputDirectory => Path.Combine(Work, "out");
    public string CgroupParent => $"{TestCgroupRoot}/{Id}";
    public Sandbox Sandbox { get; private set; } = null!;

    public static string InitProgram => Path.Combine(AppContext.BaseDirectory, "Lcluster.InitHost");

    public Task InitializeAsync()
    {
        Requires.Root();
        Directory.CreateDirectory(OutputDirectory);
        Sandbox = new Sandbox(Options());
        return Task.CompletedTask;
    }

    public SandboxOptions Options(string? cgroupParent = null, int prestarted = 2) => new()
    {
        InitProgram = InitProgram,
        WorkDirectory = JobsDirectory,
        CgroupParent = cgroupParent ?? CgroupParent,
        PrestartedInits = prestarted,
    };

    public string NewJobId() => $"t{Id}-{Interlocked.Increment(ref _counter)}";

    public SandboxSpec Spec(string command, Limits? limits = null, byte[]? stdin = null, long? cap = null, string? rootFs = null)
    {
        var jobId = NewJobId();
        return new SandboxSpec
        {
            JobId = jobId,
            RootFs = rootFs ?? RepoPaths.RootFs,
            Command = command,
            Hostname = "h" + jobId,
            Limits = limits ?? Limits.None,
            Stdin = stdin ?? ReadOnlyMemory<byte>.Empty,
            StdoutPath = Path.Combine(OutputDirectory, jobId + ".out"),
            StderrPath = Path.Combine(OutputDirectory, jobId + ".err"),
            OutputCapBytes = cap ?? 16 << 20,
        };
    }

    public Task<JobRun> RunAsync(string command, Limits? limits = null, byte[]? stdin = null, long? cap = null) =>
        RunAsync(Spec(command, limits, stdin, cap));

    public async Task<JobRun> RunAsync(SandboxSpec spec, Sandbox? sandbox = null)
    {
        var container = await (sandbox ?? Sandbox).StartAsync(spec, CancellationToken.None);
        var result = await container.Completion.WaitAsync(TimeSpan.FromSeconds(120));
        return new JobRun(spec, container, result, File.ReadAllText(spec.StdoutPath), File.ReadAllText(spec.StderrPath));
    }

    public async Task DisposeAsync()
    {
        if (Sandbox is not null)
            await Sandbox.DisposeAsync();
        // Tests give their labs parents of their own beside the fixture's ("<id>-crashed", "<id>-pool"...); one that
        // failed half-way left its lab's cgroups, with whatever still runs in them.
        foreach (var parent in HostCgroups.Children(TestCgroupRoot).Select(Path.GetFileName).OfType<string>()
                     .Where(name => name.StartsWith(Id, StringComparison.Ordinal)).Distinct())
            HostCgroups.RemoveTree($"{TestCgroupRoot}/{parent}");
        HostCgroups.RemoveIfEmpty(TestCgroupRoot);
        TreeDeletion.Delete(Work);
    }
}

/// <summary>A finished job and what it printed; <see cref="Evidence"/> goes into every assertion message.</summary>
public sealed record JobRun(SandboxSpec Spec, Container Container, ContainerResult Result, string Stdout, string Stderr)
{
    public string Evidence =>
        $"exit={Result.ExitCode} signal={Result.Signal} oom={Result.OomKilled} timedOut={Result.TimedOut} killed={Result.Killed} " +
        $"startFailure={Result.StartFailure} infra={Result.InfrastructureFailure} wall={Result.WallTime} cpu={Result.CpuTime} " +
        $"peak={Result.PeakMemoryBytes}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Processes identified by pid and start time, so a reused pid is not taken for the old process.</summary>
public readonly record struct HostProcess(int Pid, long StartTime)
{
    public static HostProcess? Find(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return new HostProcess(pid, long.Parse(fields[19]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone
        }
    }

    public bool IsAlive => Find(Pid) is { } now && now.StartTime == StartTime && !IsZombie;

    private bool IsZombie
    {
        get
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{Pid}/stat");
                return stat[stat.LastIndexOf(')')..].StartsWith(") Z", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return true;
            }
        }
    }
}
