namespace Lcluster.TestSupport;

/// <summary>What the host's /proc and cgroups say is left of jobs: the evidence that nothing survived.</summary>
public static class HostProcesses
{
    /// <summary>Pids whose environment carries the job's id (every process of a job does).</summary>
    public static IReadOnlyList<int> OfJob(string id) => Containing("environ", $"LCLUSTER_JOB_ID={id}");

    /// <summary>Pids whose command line contains <paramref name="text"/> (a daemon's --namespace, an etcd's cluster token).</summary>
    public static IReadOnlyList<int> WithArgument(string text) => Containing("cmdline", text);

    /// <summary>Pids, this process aside, whose /proc/PID/<paramref name="file"/> contains <paramref name="text"/> (UTF-8).</summary>
    private static List<int> Containing(string file, string text)
    {
        var marker = System.Text.Encoding.UTF8.GetBytes(text);
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, file)).AsSpan().IndexOf(marker) >= 0)
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked: not a leftover.
            }
        }
        return found;
    }

    /// <summary>Pids in a cgroup subtree (e.g. "lcluster/NODE") of the unified hierarchy, where every job cgroup has a twin.</summary>
    public static IReadOnlyList<int> Under(string cgroup) => HostCgroups.Processes(cgroup);

    /// <summary>
    /// False once the pid is gone or a zombie (killed processes are reparented
    /// to the host's init, which reaps them when it will); waits up to 3 s.
    /// </summary>
    public static bool StillRuns(int pid)
    {
        for (var i = 0; i < 30; i++)
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
            if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                return false;
            Thread.Sleep(100);
        }
        return true;
    }
}
