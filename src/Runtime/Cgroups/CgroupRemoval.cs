using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Cgroups;

/// <summary>rmdir of job cgroups, waiting out the moment the kernel still counts exiting tasks.</summary>
internal static class CgroupRemoval
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static async Task RemoveAllAsync(CgroupFs fs, IEnumerable<string> directories, CancellationToken ct)
    {
        foreach (var dir in directories)
        {
            var delay = TimeSpan.FromMilliseconds(1);
            var deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds; // monotonic: a clock step must not cut it short
            while (true)
            {
                var errno = fs.RemoveDirectory(dir);
                if (errno is 0 or Errno.ENOENT)
                    break;
                if (errno != Errno.EBUSY || Environment.TickCount64 > deadline)
                    throw new NativeCallException("remove cgroup", $"{dir} (processes still inside?)", errno);
                await Task.Delay(delay, ct).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
            }
        }
    }
}
