using System.Net;
using Lcluster.Daemon.Store;
using Lcluster.Daemon.Web;
using Lcluster.Shared;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// lclusterd's configuration: the flags of docs/spec.md ("lclusterd") plus limits, caps and timings. Every default
/// is written here once; <see cref="DaemonFlags"/> parses into this record and shows these defaults in --help.
/// </summary>
internal sealed record DaemonOptions
{
    /// <summary>A daemon given only --rootfs: each value below is its flag's default.</summary>
    public static DaemonOptions Defaults { get; } = new() { RootFs = "" };

    public required string RootFs { get; init; }
    /// <summary>Endpoints of an existing etcd cluster; empty = run an embedded single-member etcd.</summary>
    public IReadOnlyList<string> EtcdEndpoints { get; init; } = [];
    public string? NetworkNamespace { get; init; }
    public IPEndPoint Listen { get; init; } = IPEndPoint.Parse(NodeChannel.DefaultAddress);
    public string? Advertise { get; init; }
    public string? NodeName { get; init; }
    public string DataDir { get; init; } = "/var/lib/lclusterd";
    public int Slots { get; init; } = Environment.ProcessorCount;
    /// <summary>Memory the node offers to jobs; 0 = the machine's total.</summary>
    public long MemoryBytes { get; init; }
    /// <summary>
    /// The limits of a job that gives none; a time of 0 is no time limit. A disk of 0 puts the writable layer on the
    /// data dir's disk, uncapped; the default caps it at 256 MiB (in memory, counted toward the job's memory limit, so
    /// under the default 512 MiB).
    /// </summary>
    public JobLimits DefaultLimits { get; init; } = new(512L << 20, 1, 4096, 0, 256L << 20);
    /// <summary>The largest limits a job may ask for; a memory of 0 is the node's memory, a time of 0 no limit.</summary>
    public JobLimits MaxLimits { get; init; } = new(0, Environment.ProcessorCount, 32768, 0);
    public long OutputCapBytes { get; init; } = 16L << 20;
    /// <summary>The largest input archive one upload may bring (docs/files.md).</summary>
    public long MaxInputBytes { get; init; } = 64L << 20;
    /// <summary>What a job's collected artifacts may hold; files past it are left out.</summary>
    public long ArtifactCapBytes { get; init; } = 256L << 20;
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How much of etcd's history the prime keeps when it compacts etcd; zero: it never does (etcd's own --auto-compaction does).</summary>
    public TimeSpan EtcdHistory { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// The space quota of the etcd the cluster uses (its --quota-backend-bytes; the embedded etcd is started with it):
    /// when more than half of it is in use, the prime compacts history early instead of waiting out <see cref="EtcdHistory"/>.
    /// 0: etcd's own default, 2 GiB, for an external etcd; 4 GiB for the embedded one (<see cref="EtcdQuota"/>).
    /// </summary>
    public long EtcdQuotaBytes { get; init; }

    /// <summary><see cref="EtcdQuotaBytes"/>, or the default of the etcd the node uses.</summary>
    public long EtcdQuota => EtcdQuotaBytes > 0 ? EtcdQuotaBytes : EtcdEndpoints.Count == 0 ? 4L << 30 : 2L << 30;
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a node that cannot reach etcd keeps its jobs running before it kills them.</summary>
    public TimeSpan FenceTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// How long a client's HTTP/2 connection may send nothing before the node pings it; one that does not answer within
    /// as long again is closed, with its calls (a vanished client's streams would otherwise stay open for good).
    /// </summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>What the command line asked for that is no longer done (an obsolete flag), to warn of; null when nothing.</summary>
    public string? Ignored { get; init; }
    /// <summary>Where this node's blocks of job user-namespace ids start on the host; null runs jobs without a user namespace.</summary>
    public uint? UserNamespaceFirstId { get; init; } = new Lcluster.Runtime.UserNamespaceOptions().FirstHostId;

    /// <summary>What one user (not an admin) may hold at once.</summary>
    public UserQuotas Quotas { get; init; } = new(20_000, 1L << 30, 1L << 30);

    /// <summary>Who may reach the node, and how it proves itself (docs/security.md).</summary>
    public SecurityOptions Security { get; init; } = new();

    /// <summary>The HTTP/JSON API, dashboard and metrics endpoints (docs/http.md).</summary>
    public WebOptions Web { get; init; } = new();
    /// <summary>
    /// The user-namespace id blocks of a node running <paramref name="slots"/> jobs: one per job, per waiting init, and
    /// per container still being torn down, so twice the slots plus the most waiting inits there can be.
    /// </summary>
    public Lcluster.Runtime.UserNamespaceOptions? UserNamespaces(int slots) => UserNamespaceFirstId is { } first
        ? new() { FirstHostId = first, MaxContainers = 2 * slots + Lcluster.Runtime.SandboxOptions.MostPrestartedInits }
        : null;

    public string AdvertiseAddress => Advertise ?? $"{Listen.Address}:{Listen.Port}";
}

/// <summary>
/// A user's quotas: jobs queued at once; bytes their stored jobs hold in etcd (command, environment, stdin, records,
/// output tails); bytes of input archives their uploads hold on one node's disk.
/// </summary>
internal sealed record UserQuotas(long QueuedJobs, long StoredBytes, long InputBytes);
