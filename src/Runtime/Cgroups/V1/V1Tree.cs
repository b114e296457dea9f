namespace Lcluster.Runtime.Cgroups.V1;

/// <summary>
/// Job cgroups on v1 hierarchies (memory, cpu, cpuacct, pids, and freezer when
/// mounted), each &lt;root&gt;/&lt;controller&gt;/&lt;parent&gt;/&lt;job&gt;, plus the
/// unified hierarchy's &lt;root&gt;/unified/&lt;parent&gt;/&lt;job&gt; on hybrid hosts for cgroup.kill.
/// </summary>
internal sealed class V1Tree : ICgroupTree
{
    private readonly CgroupFs _fs;
    private readonly string _parent;
    private readonly string _memory, _cpu, _cpuacct, _pids;
    private readonly string? _freezer, _unified;
    private volatile bool _parentReady;

    public V1Tree(CgroupFs fs, string root, string parent, bool hybrid)
    {
        _fs = fs;
        _parent = parent;
        _memory = Hierarchy(root, "memory") ?? throw Missing(root, "memory");
        _cpu = Hierarchy(root, "cpu") ?? throw Missing(root, "cpu");
        _cpuacct = Hierarchy(root, "cpuacct") ?? throw Missing(root, "cpuacct");
        _pids = Hierarchy(root, "pids") ?? throw Missing(root, "pids");
        _freezer = Hierarchy(root, "freezer");
        _unified = hybrid ? Path.Combine(root, "unified") : null;
    }

    /// <summary>Tests turn this off to prove the freezer path on a host that has cgroup.kill.</summary>
    internal bool UseUnifiedKill { get; init; } = true;

    public IJobCgroup Create(string jobId, Limits limits) =>
        AncestorRace.Create(() => CreateOnce(jobId, limits), () => _parentReady = false);

    private IJobCgroup CreateOnce(string jobId, Limits limits)
    {
        EnsureParent();
        var dirs = Directories(jobId);
        var made = new List<string>();
        try
        {
            foreach (var dir in dirs.Distinct)
            {
                _fs.MakeDirectory(dir, mayExist: false);
                made.Add(dir);
            }
            V1Limits.Apply(dirs, _fs, limits);
        }
        catch
        {
            foreach (var dir in made)
                _fs.RemoveDirectory(dir);
            throw;
        }
        return new V1JobCgroup(_fs, jobId, dirs, UseUnifiedKill);
    }

    public IJobCgroup Open(string jobId) => new V1JobCgroup(_fs, jobId, Directories(jobId), UseUnifiedKill);

    public IReadOnlyList<string> ListJobs() =>
        Parents().SelectMany(_fs.Children).Distinct().Order(StringComparer.Ordinal).ToArray();

    public void RemoveParentIfEmpty()
    {
        _parentReady = false;
        foreach (var dir in Parents())
            if (_fs.DirectoryExists(dir) && _fs.Children(dir).Count == 0)
                _fs.RemoveDirectory(dir);
    }

    private void EnsureParent()
    {
        if (_parentReady)
            return;
        foreach (var dir in Parents())
        {
            var level = "";
            foreach (var part in dir.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                level += "/" + part;
                if (!_fs.DirectoryExists(level))
                    _fs.MakeDirectory(level, mayExist: true);
            }
        }
        _parentReady = true;
    }

    private IEnumerable<string> Parents() =>
        new[] { _memory, _cpu, _cpuacct, _pids, _freezer, _unified }.OfType<string>().Distinct().Select(h => Path.Combine(h, _parent));

    private V1Directories Directories(string jobId) => new(
        Path.Combine(_memory, _parent, jobId), Path.Combine(_cpu, _parent, jobId), Path.Combine(_cpuacct, _parent, jobId),
        Path.Combine(_pids, _parent, jobId), _freezer is null ? null : Path.Combine(_freezer, _parent, jobId),
        _unified is null ? null : Path.Combine(_unified, _parent, jobId));

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
