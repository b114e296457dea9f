namespace Lcluster.Scale;

/// <summary>CPU time and resident memory of a process, from /proc.</summary>
internal static class ProcessCpu
{
    private const int TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>utime + stime of the process so far (its threads included, its children not).</summary>
    public static TimeSpan Of(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after the command name, which may hold spaces
        return TimeSpan.FromSeconds((long.Parse(fields[11]) + long.Parse(fields[12])) / (double)TicksPerSecond);
    }

    /// <summary>Resident memory (VmRSS) in bytes.</summary>
    public static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>CPU time every core of the machine spent busy so far (user nice system irq softirq steal).</summary>
    public static TimeSpan Machine()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        return TimeSpan.FromSeconds((f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / (double)TicksPerSecond);
    }

    /// <summary>The value at the given fraction (0..1) of sorted samples.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(fraction * sorted.Count) - 1)];
}
