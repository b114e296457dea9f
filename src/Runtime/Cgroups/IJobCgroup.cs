namespace Lcluster.Runtime.Cgroups;

/// <summary>One job's cgroups, across whatever hierarchies the host has.</summary>
internal interface IJobCgroup
{
    string JobId { get; }

    void AddProcess(int pid);

    /// <summary>SIGKILL to every process in the cgroup, from outside its PID namespace.</summary>
    void KillAll();

    IReadOnlyList<int> Processes();

    CgroupUsage ReadUsage();

    /// <summary>rmdir everywhere; retries while the kernel still holds exiting tasks; throws if it cannot.</summary>
    Task RemoveAsync(CancellationToken ct);
}

/// <summary>What the kernel accounted for a job.</summary>
internal sealed record CgroupUsage(long PeakMemoryBytes, TimeSpan CpuTime, bool OomKilled);
