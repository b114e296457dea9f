namespace Lcluster.Runtime.Cgroups.V2;

/// <summary>Job cgroups on a cgroup2 hierarchy: &lt;root&gt;/&lt;parent&gt;/&lt;job&gt;.</summary>
internal sealed class V2Tree(CgroupFs fs, string root, string parent) : ICgroupTree
{
    private readonly string _parentPath = Path.Combine(root, parent);
    private volatile bool _parentReady;

    public IJobCgroup Create(string jobId, Limits limits) =>
        AncestorRace.Create(() => CreateOnce(jobId, limits), () => _parentReady = false);

    private IJobCgroup CreateOnce(string jobId, Limits limits)
    {
        EnsureParent();
        var dir = Path.Combine(_parentPath, jobId);
        fs.MakeDirectory(dir, mayExist: false);
        try
        {
            V2Limits.Apply(fs, dir, limits);
        }
        catch
        {
            fs.RemoveDirectory(dir);
            throw;
        }
        return new V2JobCgroup(fs, jobId, dir);
    }

    public IJobCgroup Open(string jobId) => new V2JobCgroup(fs, jobId, Path.Combine(_parentPath, jobId));

    public IReadOnlyList<string> ListJobs() => fs.Children(_parentPath);

    public void RemoveParentIfEmpty()
    {
        _parentReady = false;
        if (fs.DirectoryExists(_parentPath) && fs.Children(_parentPath).Count == 0)
            fs.RemoveDirectory(_parentPath);
    }

    /// <summary>mkdir -p the parent and delegate the controllers down every level (no process lives in these).</summary>
    private void EnsureParent()
    {
        if (_parentReady)
            return;
        var level = root;
        foreach (var part in parent.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            EnableControllers(level);
            level = Path.Combine(level, part);
            fs.MakeDirectory(level, mayExist: true);
        }
        EnableControllers(level);
        _parentReady = true;
    }

    private void EnableControllers(string dir)
    {
        var available = fs.Read(Path.Combine(dir, "cgroup.controllers")).Split(' ', '\n');
        var wanted = V2Limits.Controllers.Split(' ').Where(c => available.Contains(c[1..])).ToArray();
        if (wanted.Length > 0)
            fs.Write(Path.Combine(dir, "cgroup.subtree_control"), string.Join(' ', wanted));
    }
}

internal sealed class V2JobCgroup(CgroupFs fs, string jobId, string dir) : IJobCgroup
{
    public string JobId => jobId;

    public void AddProcess(int pid) => fs.Write(Path.Combine(dir, "cgroup.procs"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void KillAll()
    {
        if (Unified.CanKill(fs, dir))
            Unified.Kill(fs, dir);
        else
            Unified.KillByFreezing(fs, dir);
    }

    public IReadOnlyList<int> Processes() =>
        fs.DirectoryExists(dir) ? fs.ReadPids(Path.Combine(dir, "cgroup.procs")) : [];

    public CgroupUsage ReadUsage() => V2Limits.ReadUsage(fs, dir);

    public Task RemoveAsync(CancellationToken ct) => CgroupRemoval.RemoveAllAsync(fs, [dir], ct);
}
