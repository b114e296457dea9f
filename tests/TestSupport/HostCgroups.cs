namespace Lcluster.TestSupport;

/// <summary>
/// The host's real cgroup hierarchies as tests see them: v1 controllers and
/// the unified hierarchy on a hybrid host, /sys/fs/cgroup itself on pure v2.
/// Paths are relative to each hierarchy's root ("lcluster/NODE/JOB").
/// </summary>
public static class HostCgroups
{
    private const string Mount = "/sys/fs/cgroup";

    /// <summary>The root directory of every hierarchy mounted under /sys/fs/cgroup.</summary>
    public static IReadOnlyList<string> Roots { get; } = FindRoots();

    /// <summary>The unified (v2) hierarchy, where every job cgroup has a twin and cgroup.kill lives.</summary>
    public static string Unified { get; } = Directory.Exists(Path.Combine(Mount, "unified")) ? Path.Combine(Mount, "unified") : Mount;

    /// <summary>The hierarchy that holds a v1 controller ("memory", "pids"...), or the unified one on pure v2.</summary>
    public static string Root(string controller) =>
        Roots.FirstOrDefault(r => Path.GetFileName(r) == controller) ?? Unified;

    /// <summary>Every directory of a cgroup that still exists, in any hierarchy.</summary>
    public static string[] Existing(string relative) =>
        Roots.Select(r => Path.Combine(r, relative)).Where(Directory.Exists).ToArray();

    public static string[] Existing(string parent, string child) => Existing(parent + "/" + child);

    /// <summary>Child cgroups still below a parent, in any hierarchy.</summary>
    public static string[] Children(string parent) =>
        Existing(parent).SelectMany(Directory.GetDirectories).ToArray();

    /// <summary>Pids in a cgroup and everything below it (unified hierarchy).</summary>
    public static int[] Processes(string relative)
    {
        var dir = Path.Combine(Unified, relative);
        if (!Directory.Exists(dir))
            return [];
        return Directory.EnumerateFiles(dir, "cgroup.procs", SearchOption.AllDirectories)
            .SelectMany(ReadLinesIfPresent).Where(l => l.Length > 0).Select(int.Parse).ToArray();
    }

    public static int[] Processes(string parent, string child) => Processes(parent + "/" + child);

    /// <summary>
    /// Removes a cgroup subtree a test's daemons could not (a SIGKILLed node
    /// that never came back leaves its job cgroups): kills what still runs in
    /// it, then removes its directories deepest first, in every hierarchy.
    /// Fails the test's clean-up with the evidence when something stays.
    /// </summary>
    public static void RemoveTree(string relative)
    {
        if (Existing(relative).Length == 0)
            return;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            KillAll(relative);
            var left = Existing(relative)
                .SelectMany(d => Directory.GetDirectories(d, "*", SearchOption.AllDirectories).Append(d))
                .OrderByDescending(d => d.Length)
                .Where(d => !TryRemove(d))
                .ToArray();
            if (left.Length == 0)
                return;
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"cgroups a test left could not be removed: {string.Join(", ", left)} (pids {string.Join(" ", Processes(relative))})");
            Thread.Sleep(50);
        }
    }

    /// <summary>rmdir a directory shared by tests when nothing is below it (another test may be using it).</summary>
    public static void RemoveIfEmpty(string relative)
    {
        foreach (var dir in Existing(relative))
        {
            try
            {
                if (Directory.GetDirectories(dir).Length == 0)
                    TryRemove(dir); // a parallel test may have just created a child: then it stays
            }
            catch (DirectoryNotFoundException)
            {
                // Another fixture removed it between the two looks: what we wanted.
            }
        }
    }

    private static void KillAll(string relative)
    {
        // A v1-frozen task cannot act on SIGKILL until it is thawed.
        foreach (var state in Existing(relative).Where(d => d.Contains("/freezer/", StringComparison.Ordinal))
                     .SelectMany(d => Directory.GetFiles(d, "freezer.state", SearchOption.AllDirectories)))
            File.WriteAllText(state, "THAWED");
        var kill = Path.Combine(Unified, relative, "cgroup.kill");
        if (File.Exists(kill))
        {
            File.WriteAllText(kill, "1");
            return;
        }
        foreach (var pid in Processes(relative))
        {
            using var process = System.Diagnostics.Process.Start("/bin/kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            process.WaitForExit();
        }
    }

    private static bool TryRemove(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir); // rmdir: a cgroup goes only when it has no process and no child
            return true;
        }
        catch (IOException)
        {
            return false; // EBUSY or ENOTEMPTY: processes are still dying, or a child is left
        }
    }

    private static IEnumerable<string> ReadLinesIfPresent(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return []; // the cgroup went while we looked
        }
    }

    private static IReadOnlyList<string> FindRoots()
    {
        if (File.Exists(Path.Combine(Mount, "cgroup.procs")))
            return [Mount]; // pure v2
        return Directory.GetDirectories(Mount)
            .Where(d => File.Exists(Path.Combine(d, "cgroup.procs")) && new DirectoryInfo(d).LinkTarget is null)
            .Order(StringComparer.Ordinal)
            .ToArray();
    }
}
