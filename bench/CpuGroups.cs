namespace Lcluster.Bench;

/// <summary>
/// Cgroup v2 groups used only to count CPU time. A process put in one takes the
/// children it forks later with it, so processes too short-lived to be read from
/// /proc, and re-parented away from their daemon (slurmd's slurmstepds), are
/// counted as well. No controller is enabled: nothing is limited.
/// </summary>
internal sealed class CpuGroups : IDisposable
{
    private const string BenchRoot = "lcluster-bench"; // the directory every benchmark's cgroups go under
    private readonly string _parent;
    private readonly string _root;
    private readonly IReadOnlyList<string> _members;

    private CpuGroups(string parent, string root, IReadOnlyList<string> members)
    {
        _parent = parent;
        _root = root;
        _members = members;
    }

    /// <summary>One group per member under lcluster-bench/NAME, or null and why when cgroup v2 is not there to use.</summary>
    public static CpuGroups? TryCreate(string name, IReadOnlyList<string> members, out string? unavailable)
    {
        var mount = File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(" - ", 2))
            .Where(parts => parts.Length == 2 && parts[1].StartsWith("cgroup2 ", StringComparison.Ordinal))
            .Select(parts => parts[0].Split(' ')[4])
            .FirstOrDefault();
        if (mount is null)
        {
            unavailable = "no cgroup v2 hierarchy is mounted";
            return null;
        }
        var parent = Path.Combine(mount, BenchRoot);
        var root = Path.Combine(parent, name);
        try
        {
            foreach (var member in members)
                Directory.CreateDirectory(Path.Combine(root, member));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            unavailable = $"cannot create cgroups under {parent}: {e.Message}";
            return null;
        }
        unavailable = null;
        return new CpuGroups(parent, root, members);
    }

    /// <summary>The file a shell writes its own pid ($$) to before it execs the program to be counted.</summary>
    public string ProcsFile(string member) => Path.Combine(_root, member, "cgroup.procs");

    /// <summary>CPU time (user + system) of every process that has been in the member's group.</summary>
    public TimeSpan Usage(string member)
    {
        var line = File.ReadLines(Path.Combine(_root, member, "cpu.stat")).First(l => l.StartsWith("usage_usec ", StringComparison.Ordinal));
        return TimeSpan.FromMicroseconds(long.Parse(line["usage_usec ".Length..]));
    }

    public IReadOnlyDictionary<string, TimeSpan> UsageOfAll() => _members.ToDictionary(m => m, Usage);

    /// <summary>Removes the groups; the caller has stopped every process in them first.</summary>
    public void Dispose()
    {
        foreach (var member in _members)
            Directory.Delete(Path.Combine(_root, member));
        Directory.Delete(_root);
        // The shared directory goes too when no other benchmark has groups in it any more.
        if (Directory.Exists(_parent) && Directory.GetDirectories(_parent).Length == 0)
            Directory.Delete(_parent);
    }
}
