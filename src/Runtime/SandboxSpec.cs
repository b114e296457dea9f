namespace Lcluster.Runtime;

/// <summary>One job to run in a container.</summary>
public sealed record SandboxSpec
{
    /// <summary>The variable that carries the job's id into its environment; a spec cannot set it.</summary>
    public const string JobIdVariable = "LCLUSTER_JOB_ID";

    /// <summary>Names the job's cgroup and work directory: 1-64 of [a-z0-9-].</summary>
    public required string JobId { get; init; }

    /// <summary>The root filesystem, seen read-only below a private writable layer.</summary>
    public required string RootFs { get; init; }

    /// <summary>Run as <c>/bin/sh -c Command</c>.</summary>
    public required string Command { get; init; }

    /// <summary>
    /// Added to the runtime's defaults PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    /// and HOME=/root, which entries here override. LCLUSTER_JOB_ID is always set to JobId by the runtime.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The container's hostname (the daemon uses the short job id).</summary>
    public required string Hostname { get; init; }

    public Limits Limits { get; init; } = Limits.None;

    /// <summary>The job's standard input; empty means /dev/null.</summary>
    public ReadOnlyMemory<byte> Stdin { get; init; }

    /// <summary>Files the runtime creates (truncating) and fills with the job's output, up to OutputCapBytes each.</summary>
    public required string StdoutPath { get; init; }

    public required string StderrPath { get; init; }

    /// <summary>Past it a stream gets one marker line, the rest is discarded, and the job goes on.</summary>
    public long OutputCapBytes { get; init; } = 16 << 20;

    /// <summary>
    /// Mounted at /work, the job's working directory; the caller owns it (fills it before, reads it after,
    /// disposes it). Null: no /work, and the job starts in /.
    /// </summary>
    public Workspace? Workspace { get; init; }
}
