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
