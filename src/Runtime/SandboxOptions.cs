using Lcluster.Runtime.Processes;

namespace Lcluster.Runtime;

/// <summary>How one daemon runs its containers; everything a Sandbox owns lives below WorkDirectory and CgroupParent.</summary>
public sealed record SandboxOptions
{
    /// <summary>The program started in init mode: the daemon passes the lclusterd-init it carries (written to its data dir).</summary>
    public required string InitProgram { get; init; }

    /// <summary>The leading arguments that select init mode.</summary>
    public IReadOnlyList<string> InitArguments { get; init; } = [ContainerInit.Verb];

    /// <summary>Per-job writable layers live in &lt;WorkDirectory&gt;/&lt;job id&gt;; owned by this Sandbox.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Relative to each hierarchy root, e.g. "lcluster/node-a"; owned by this Sandbox.</summary>
    public required string CgroupParent { get; init; }

    /// <summary>Where the cgroup hierarchies are mounted.</summary>
    public string CgroupRoot { get; init; } = "/sys/fs/cgroup";

    /// <summary>The most inits that may wait ahead of jobs.</summary>
    public const int MostPrestartedInits = 64;

    /// <summary>Inits started ahead of jobs, waiting in fresh namespaces; 0 starts each on demand.</summary>
    public int PrestartedInits { get; init; } = 2;

    /// <summary>
    /// Each container in a user namespace of its own, its root mapped onto a block of unprivileged host ids (on by
    /// default); null runs containers as host root, confined by capabilities, seccomp and the mounts alone.
    /// </summary>
    public UserNamespaceOptions? UserNamespaces { get; init; } = new();

    /// <summary>Tests only: jobs run without the seccomp filter, so a test can look at what the filter hides.</summary>
    internal bool WithoutSeccompForTests { get; init; }
}
