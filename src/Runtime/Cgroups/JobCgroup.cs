namespace Lcluster.Runtime.Cgroups;

/// <summary>The cgroups of all jobs of one Sandbox: everything below one parent in each hierarchy.</summary>
internal interface ICgroupTree
{
    /// <summary>Creates the job's cgroup in every hierarchy and applies its limits; undoes itself on failure.</summary>
    IJobCgroup Create(string jobId, Limits limits);

    /// <summary>A job cgroup that already exists (a crashed predecessor's leftover).</summary>
    IJobCgroup Open(string jobId);

    /// <summary>Job ids with a cgroup below the parent in any hierarchy.</summary>
    IReadOnlyList<string> ListJobs();

    /// <summary>Removes the parent directories when no job is left below them.</summary>
    void RemoveParentIfEmpty();
}

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
