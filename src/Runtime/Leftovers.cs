using Lcluster.Runtime.Cgroups;

namespace Lcluster.Runtime;

/// <summary>Reaping what a crashed daemon left of one job: its processes (reparented away from us), cgroups and directory.</summary>
internal static class Leftovers
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static async Task KillAsync(IJobCgroup cgroup, string directory, CancellationToken ct)
    {
        var deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds; // monotonic: a clock step must not cut it short
        try
        {
            IReadOnlyList<int> left;
            while ((left = cgroup.Processes()).Count > 0)
            {
                if (Environment.TickCount64 > deadline)
                    throw new SandboxException($"job {cgroup.JobId}: processes {string.Join(", ", left)} survived SIGKILL for {Patience.TotalSeconds:0} s");
                cgroup.KillAll();
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
            await cgroup.RemoveAsync(ct).ConfigureAwait(false);
            TreeDeletion.Delete(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException($"cannot reap leftover job {cgroup.JobId}: {e.Message}", e);
        }
    }
}
