using System.Diagnostics;
using Lcluster.Runtime.Processes;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    /// <summary>Tests that count this process's fds and threads run with no other test beside them.</summary>
    public const string Name = "alone";
}

/// <summary>Nothing of a job outlives it: not in the host, not in the test process.</summary>
[Collection(Alone.Name)]
public sealed class CleanupTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Two_hundred_sequential_jobs_leave_no_mount_cgroup_fd_or_thread_behind()
    {
        for (var i = 0; i < 5; i++)
            await fixture.RunAsync("true"); // warm: the pool, the thread pool, the SIGCHLD registration
        var before = await SettledAsync(fixture, null);
        for (var i = 0; i < 200; i++)
        {
            var run = await fixture.RunAsync("true");
            Assert.True(run.Result.ExitCode == 0 && run.Result.InfrastructureFailure is null, run.Evidence);
            File.Delete(run.Spec.StdoutPath);
            File.Delete(run.Spec.StderrPath);
        }
        var after = await SettledAsync(fixture, before);
        // Other tests on this machine mount things too (network namespaces): only mounts of ours count.
        var newMounts = after.Mounts.Except(before.Mounts).ToArray();
        Assert.True(newMounts.All(m => !m.Contains(fixture.Work) && !m.Contains(" - overlay ")),
            $"mounts appeared in the host's namespace: {string.Join("\n", newMounts)}");
        Assert.DoesNotContain(after.Mounts, m => m.Contains(fixture.Work));
        Assert.Empty(after.JobCgroups);
        Assert.Empty(after.JobDirectories);
        Assert.True(after.Fds <= before.Fds, $"open fds {before.Fds} -> {after.Fds}; more of: {string.Join(", ",
            Grown(before.FdTargets, after.FdTargets).Select(g => $"{g.Name} ({g.Before} -> {g.After})"))}");
        Assert.True(after.SpawnThreads == 1, $"one long-lived spawner thread expected, found {after.SpawnThreads}");
        // The runtime starts some threads of its own when it needs them: the thread pool grows and shrinks,
        // and the first background collection starts the collector's thread. Every other thread must be the same set as before.
        Assert.True(Grown(before.Threads, after.Threads.Where(t => !RuntimeOnDemand.Contains(t))).Length == 0,
            $"threads before: {string.Join(", ", before.Threads)}\nafter: {string.Join(", ", after.Threads)}");
        // The pool injects threads when the machine is starved; a thread per job would show about 200.
        Assert.True(after.Threads.Count(t => t == ".NET TP Worker") <= 64, $"thread pool grew to {after.Threads.Length} threads");
        Assert.True(after.WatchedChildren <= fixture.Options().PrestartedInits, $"{after.WatchedChildren} children still watched");
    }

    /// <summary>Threads the runtime starts by itself, when it needs them (names as <c>comm</c> cuts them to 15 bytes).</summary>
    private static readonly HashSet<string> RuntimeOnDemand = [".NET TP Worker", ".NET BGC", ".NET Tiered Com"];

    [Fact]
    public async Task A_crashed_daemons_jobs_and_waiting_inits_die_with_it_within_a_second_and_the_next_one_reaps_what_is_left()
    {
        var parent = $"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-crashed";
        var work = Path.Combine(fixture.Work, "crashed");
        var jobId = fixture.NewJobId();
        using var daemon = Process.Start(new ProcessStartInfo(SandboxFixture.InitProgram,
            ["--crash-test-daemon", work, parent, RepoPaths.RootFs, jobId]) { RedirectStandardOutput = true })!;
        var line = await daemon.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(line?.StartsWith("job ", StringComparison.Ordinal) == true, $"the crash-test daemon said \"{line}\"");
        var jobProcesses = Array.Empty<HostProcess>();
        for (var i = 0; i < 300 && jobProcesses.Length < 3; i++)
        {
            jobProcesses = HostCgroups.Processes(parent, jobId).Select(HostProcess.Find).OfType<HostProcess>().ToArray();
            await Task.Delay(20);
        }
        Assert.True(jobProcesses.Length >= 3, $"the job's sh and two sleeps should run; cgroup.procs has {jobProcesses.Length}");
        var waitingInits = await WaitingInitsAsync(daemon.Id, jobProcesses);

        daemon.Kill(); // SIGKILL: no cleanup of its own
        await daemon.WaitForExitAsync();
        await WaitUntilAsync(() => jobProcesses.All(p => !p.IsAlive), "the dead daemon's job to die with it", TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => waitingInits.All(p => !p.IsAlive), "the dead daemon's waiting inits to die with it", TimeSpan.FromSeconds(1));

        await using var successor = new Sandbox(fixture.Options(parent) with { WorkDirectory = work });
        var reaped = await successor.ReapLeftoversAsync(CancellationToken.None);
        Assert.Equal([jobId], reaped);
        Assert.Empty(HostCgroups.Existing(parent, jobId));
        Assert.False(Directory.Exists(Path.Combine(work, jobId)), "the leftover job directory is still there");
        Assert.Empty(await successor.ReapLeftoversAsync(CancellationToken.None));
    }

    /// <summary>The crash-test daemon's two pooled inits: its children that are not the job.</summary>
    private static async Task<HostProcess[]> WaitingInitsAsync(int daemon, HostProcess[] job)
    {
        var inits = Array.Empty<HostProcess>();
        for (var i = 0; i < 500 && inits.Length < 2; i++)
        {
            inits = ChildrenOf(daemon).Where(p => !job.Any(j => j.Pid == p.Pid)).ToArray();
            await Task.Delay(20);
        }
        Assert.True(inits.Length == 2, $"the daemon should have 2 waiting inits, has {inits.Length}");
        return inits;
    }

    [Fact]
    public async Task Reaping_touches_only_the_sandboxs_own_parent()
    {
        var spec = fixture.Spec("echo up; sleep 1000");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var neighbourParent = $"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-neighbour";
        await using (var neighbour = new Sandbox(fixture.Options(neighbourParent, prestarted: 0) with { WorkDirectory = Path.Combine(fixture.Work, "neighbour") }))
            Assert.Empty(await neighbour.ReapLeftoversAsync(CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.Sandbox.KillLeftoverAsync(spec.JobId, CancellationToken.None));
        Assert.Empty(await fixture.Sandbox.ReapLeftoversAsync(CancellationToken.None));
        Assert.False(container.Completion.IsCompleted, "a neighbour's reaping ended a running job");
        Assert.True(HostProcess.Find(container.Pid) is { IsAlive: true });
        await container.KillAsync();
    }

    [Fact]
    public async Task Disposing_a_sandbox_ends_its_waiting_inits()
    {
        var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-pool", prestarted: 3)
            with { WorkDirectory = Path.Combine(fixture.Work, "pool"), InitProgram = InitAlias("lc-dispose") });
        HostProcess[] inits = [];
        for (var i = 0; i < 500 && inits.Length < 3; i++)
        {
            inits = InitsNamed("lc-dispose");
            await Task.Delay(20);
        }
        Assert.True(inits.Length == 3, $"expected 3 waiting inits, found {inits.Length}");
        await sandbox.DisposeAsync();
        var alive = inits.Where(p => p.IsAlive).ToArray();
        Assert.True(alive.Length == 0, $"waiting inits alive after dispose: {string.Join(", ", alive)}");
    }

    [Fact]
    public async Task A_cancelled_start_leaves_no_init_cgroup_or_directory()
    {
        var parent = $"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-cancel";
        await using var sandbox = new Sandbox(fixture.Options(parent, prestarted: 0)
            with { WorkDirectory = Path.Combine(fixture.Work, "cancel"), InitProgram = InitAlias("lc-cancel") });
        var spec = fixture.Spec("echo never");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(5)); // before an init can be ready
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sandbox.StartAsync(spec, cancel.Token));
        Assert.Empty(HostCgroups.Existing(parent, spec.JobId));
        Assert.False(Directory.Exists(Path.Combine(fixture.Work, "cancel", spec.JobId)));
        await WaitUntilAsync(() => InitsNamed("lc-cancel").All(p => !p.IsAlive),
            $"the abandoned init to exit ({string.Join(", ", InitsNamed("lc-cancel"))})");
    }

    [Fact]
    public async Task Cleanup_deletes_a_jobs_symlinks_without_following_them_out_of_its_layer()
    {
        var sentinel = Path.Combine(fixture.Work, "sentinel");
        Directory.CreateDirectory(sentinel);
        File.WriteAllText(Path.Combine(sentinel, "keep"), "keep");
        var run = await fixture.RunAsync(
            $"ln -s / /root/host-root; ln -s {sentinel} /root/sentinel; mkdir -p /root/d; ln -s {sentinel}/keep /root/d/keep; " +
            "touch \"$(printf '/root/bad-\\377-name')\"; echo done");
        Assert.True(run.Result.ExitCode == 0 && run.Result.InfrastructureFailure is null, run.Evidence);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(sentinel, "keep")));
        Assert.False(Directory.Exists(Path.Combine(fixture.JobsDirectory, run.Spec.JobId)));
    }

    [Fact]
    public async Task Cleanup_deletes_a_tree_as_deep_as_a_job_makes_it_without_the_node_running_out_of_stack()
    {
        // 30,000 levels, made 2,000 at a time (every path stays under PATH_MAX): a chain is made, the tree so far is
        // moved to its bottom, and the chain takes the tree's name. A deletion that recursed, one stack frame a level,
        // would overflow the stack and take the node down with every job on it, again at each restart.
        var run = await fixture.RunAsync(
            "cd /root && deep=$(printf 'd/%.0s' $(seq 2000)) && mkdir -p \"t/$deep\" && touch \"t/$deep/leaf\" && " +
            "for i in $(seq 14); do mkdir -p \"n/$deep\" && mv t \"n/$deep\" && mv n t || exit 1; done; echo made");
        Assert.True(run.Result.ExitCode == 0 && run.Result.InfrastructureFailure is null, run.Evidence);
        Assert.Contains("made", run.Lines);
        Assert.False(Directory.Exists(Path.Combine(fixture.JobsDirectory, run.Spec.JobId)));
    }

    /// <summary>The init program under another name, so its processes can be told apart by their comm.</summary>
    private string InitAlias(string name)
    {
        var alias = Path.Combine(fixture.Work, name);
        if (!File.Exists(alias))
            File.CreateSymbolicLink(alias, SandboxFixture.InitProgram);
        return alias;
    }

    private static HostProcess[] InitsNamed(string comm) =>
        ChildrenOf(Environment.ProcessId).Where(p => Comm(p.Pid) == comm).ToArray();

    private static HostProcess[] ChildrenOf(int parent) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Select(int.Parse!)
            .Where(pid => ParentOf(pid) == parent).Select(HostProcess.Find).OfType<HostProcess>().ToArray();

    private static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The names <paramref name="after"/> holds more of than <paramref name="before"/>, with both counts.</summary>
    private static (string Name, int Before, int After)[] Grown(IEnumerable<string> before, IEnumerable<string> after)
    {
        var had = before.CountBy(n => n).ToDictionary();
        return [.. after.CountBy(n => n).Where(n => n.Value > had.GetValueOrDefault(n.Key)).Select(n => (n.Key, had.GetValueOrDefault(n.Key), n.Value))];
    }

    /// <summary>
    /// A snapshot once the last job's leftovers are gone: its cgroups and directory removed, the init pool refilled
    /// (every init it started is ready, and no more children than waiting inits), and no more fds than <paramref name="before"/> had — or, after 10 s,
    /// the snapshot as it is, for the assertions to say what stayed.
    /// </summary>
    private static async Task<Snapshot> SettledAsync(SandboxFixture fixture, Snapshot? before)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            // The pool refills in the background: counted while an init is half started, the fds would be a moment's.
            await fixture.Sandbox.WaitForPrestartedInitsAsync();
            var now = Snapshot.Take(fixture);
            var settled = now.JobCgroups.Length == 0 && now.JobDirectories.Length == 0 && now.SpawnThreads == 1
                && now.WatchedChildren <= fixture.Options().PrestartedInits && (before is null || now.Fds <= before.Fds);
            if (settled || DateTime.UtcNow > deadline)
                return now;
            await Task.Delay(10);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(10));
        while (!condition() && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.True(condition(), $"gave up waiting {(patience ?? TimeSpan.FromSeconds(10)).TotalSeconds} s for {what}");
    }

    private sealed record Snapshot(string[] Mounts, string[] JobCgroups, string[] JobDirectories,
        int Fds, string[] FdTargets, string[] Threads, int SpawnThreads, int WatchedChildren)
    {
        public static Snapshot Take(SandboxFixture fixture)
        {
            var mounts = File.ReadAllLines("/proc/self/mountinfo");
            // The runtime opens a framework assembly when it is first used (seen: Microsoft.Win32.Registry.dll, once in
            // many runs): its own file, not something a job left, so not counted.
            var fds = Directory.GetFiles("/proc/self/fd").Select(f => new FileInfo(f).LinkTarget ?? "?")
                .Where(t => !t.StartsWith(RuntimeDirectory, StringComparison.Ordinal)).ToArray();
            // A thread may end between the listing and the read of its name (a thread-pool worker retiring): it is not
            // among the threads then.
            var threads = Directory.GetDirectories("/proc/self/task").Select(t => TryReadName(Path.Combine(t, "comm"))).OfType<string>().ToArray();
            return new Snapshot(
                mounts,
                HostCgroups.Children(fixture.CgroupParent),
                // What jobs left on disk: their own directories, or anything in the one that jobs without one share.
                Directory.GetFileSystemEntries(fixture.JobsDirectory).Where(p => Path.GetFileName(p) != ".layer")
                    .Concat(Directory.GetFileSystemEntries(Path.Combine(fixture.JobsDirectory, ".layer"))).ToArray(),
                fds.Length,
                fds,
                threads.Order().ToArray(),
                threads.Count(t => t == "lcluster-spawn"),
                ChildExits.Count);
        }

        private static readonly string RuntimeDirectory = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();

        private static string? TryReadName(string comm)
        {
            try
            {
                return File.ReadAllText(comm).Trim();
            }
            catch (IOException)
            {
                return null; // the thread ended (ENOENT, or ESRCH while it exits)
            }
        }
    }
}
