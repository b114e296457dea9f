namespace Lcluster.Runtime.Cgroups.V1;

/// <summary>
/// Job cgroups on v1 hierarchies (memory, cpu, cpuacct, pids, and freezer when
/// mounted), each &lt;root&gt;/&lt;controller&gt;/&lt;parent&gt;/&lt;job&gt;, plus the
/// unified hierarchy's &lt;root&gt;/unified/&lt;parent&gt;/&lt;job&gt; on hybrid hosts for cgroup.kill.
/// </summary>
internal sealed class V1Tree : ICgroupTree
{
    private readonly CgroupFs fs;
    private readonly string parent;
    private readonly string memory, cpu, cpuacct, pids;
    private readonly string? freezer, unified;
    private volatile bool parentReady;

    public V1Tree(CgroupFs fs, string root, string parent, bool hybrid)
    {
        this.fs = fs;
        this.parent = parent;
        memory = Hierarchy(root, "memory") ?? throw Missing(root, "memory");
        cpu = Hierarchy(root, "cpu") ?? throw Missing(root, "cpu");
        cpuacct = Hierarchy(root, "cpuacct") ?? throw Missing(root, "cpuacct");
        pids = Hierarchy(root, "pids") ?? throw Missing(root, "pids");
        freezer = Hierarchy(root, "freezer");
        unified = hybrid ? Path.Combine(root, "unified") : null;
    }

    /// <summary>Tests turn this off to prove the freezer path on a host that has cgroup.kill.</summary>
    internal bool UseUnifiedKill { get; init; } = true;

    public IJobCgroup Create(string jobId, Limits limits) =>
        AncestorRace.Create(() => CreateOnce(jobId, limits), () => parentReady = false);

    private IJobCgroup CreateOnce(string jobId, Limits limits)
    {
        EnsureParent();
        var dirs = Directories(jobId);
        var made = new List<string>();
        try
        {
            foreach (var dir in dirs.Distinct)
            {
                fs.MakeDirectory(dir, mayExist: false);
                made.Add(dir);
            }
            V1Limits.Apply(dirs, fs, limits);
        }
        catch
        {
            foreach (var dir in made)
                fs.RemoveDirectory(dir);
            throw;
        }
        return new V1JobCgroup(fs, jobId, dirs, UseUnifiedKill);
    }

    public IJobCgroup Open(string jobId) => new V1JobCgroup(fs, jobId, Directories(jobId), UseUnifiedKill);

    public IReadOnlyList<string> ListJobs() =>
        Parents().SelectMany(fs.Children).Distinct().Order(StringComparer.Ordinal).ToArray();

    public void RemoveParentIfEmpty()
    {
        parentReady = false;
        foreach (var dir in Parents())
            if (fs.DirectoryExists(dir) && fs.Children(dir).Count == 0)
                fs.RemoveDirectory(dir);
    }

    private void EnsureParent()
    {
        if (parentReady)
            return;
        foreach (var dir in Parents())
        {
            var level = "";
            foreach (var part in dir.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                level += "/" + part;
                if (!fs.DirectoryExists(level))
                    fs.MakeDirectory(level, mayExist: true);
            }
        }
        parentReady = true;
    }

    private IEnumerable<string> Parents() =>
        new[] { memory, cpu, cpuacct, pids, freezer, unified }.OfType<string>().Distinct().Select(h => Path.Combine(h, parent));

    private V1Directories Directories(string jobId) => new(
        Path.Combine(memory, parent, jobId), Path.Combine(cpu, parent, jobId), Path.Combine(cpuacct, parent, jobId),
        Path.Combine(pids, parent, jobId), freezer is null ? null : Path.Combine(freezer, parent, jobId),
        unified is null ? null : Path.Combine(unified, parent, jobId));

    /// <summary>The hierarchy's real directory (cpu and cpuacct are often symlinks to one "cpu,cpuacct" mount).</summary>
    private static string? Hierarchy(string root, string controller)
    {
        var path = Path.Combine(root, controller);
        if (!Directory.Exists(path))
            return null;
        var target = new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? path;
    }

    private static NotSupportedException Missing(string root, string controller) =>
        new($"the cgroup v1 {controller} controller is not mounted at {Path.Combine(root, controller)}: lcluster needs memory, cpu, cpuacct and pids");
}

internal sealed class V1JobCgroup(CgroupFs fs, string jobId, V1Directories dirs, bool useUnifiedKill) : IJobCgroup
{
    public string JobId => jobId;

    public void AddProcess(int pid)
    {
        var text = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var dir in dirs.Distinct)
            fs.Write(Path.Combine(dir, "cgroup.procs"), text);
    }

    public void KillAll()
    {
        if (useUnifiedKill && dirs.Unified is { } unified && Unified.CanKill(fs, unified))
            Unified.Kill(fs, unified);
        else if (dirs.Freezer is { } freezer)
            Freezing.KillFrozen(fs,
                () => fs.Write(Path.Combine(freezer, "freezer.state"), "FROZEN"),
                () => fs.Write(Path.Combine(freezer, "freezer.state"), "THAWED"),
                Path.Combine(freezer, "cgroup.procs"));
        else
            foreach (var pid in Processes())
                Native.Libc.Kill(pid, Native.Libc.SIGKILL);
    }

    public IReadOnlyList<int> Processes() =>
        fs.DirectoryExists(dirs.Memory) ? fs.ReadPids(Path.Combine(dirs.Memory, "cgroup.procs")) : [];

    public CgroupUsage ReadUsage() => V1Limits.ReadUsage(dirs, fs);

    public Task RemoveAsync(CancellationToken ct) => CgroupRemoval.RemoveAllAsync(fs, dirs.Distinct, ct);
}
