using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Store;
using Lcluster.Daemon.Web;
using Lcluster.Runtime;
using Lcluster.Shared;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// Every flag of lclusterd, once: name, value, description, and the default taken from
/// <see cref="DaemonOptions.Defaults"/>. Parsing, the checks between flags and --help read only these.
/// </summary>
internal static partial class DaemonFlags
{
    /// <summary>The most jobs one node runs at once.</summary>
    public const int MaxSlots = 4096;

    /// <summary>etcd leases live whole seconds: a shorter --lease-ttl is taken as this.</summary>
    private static readonly TimeSpan MinLeaseTtl = TimeSpan.FromSeconds(1);

    private static readonly DaemonOptions Defaults = DaemonOptions.Defaults;

    /// <summary>A duration of a second or more: of a timer that fires on it, where 0 or less would fire at once.</summary>
    private static readonly FlagValue<double> AtLeastASecond = FlagValues.Duration with
    {
        Read = text => FlagValues.Duration.Read(text) is var seconds && seconds >= 1
            ? seconds
            : throw new UsageException($"'{text}' must be at least 1s"),
    };

    public static readonly Flag<string> RootFs = Flag.Of("--rootfs",
        "the root filesystem every job runs in (read-only, with a private writable layer); build one with `make rootfs`", FlagValues.Text("DIR"));

    public static readonly Flag<string> DataDir = Flag.Of("--data-dir", "node state, job output, embedded etcd data",
        FlagValues.Text("DIR"), Defaults.DataDir);

    public static readonly Flag<IReadOnlyList<string>> Etcd = Flag.Of("--etcd", "join this etcd cluster",
        new FlagValue<IReadOnlyList<string>>("URL[,URL...]", ReadEndpoints, urls => string.Join(",", urls)), Defaults.EtcdEndpoints,
        $"an embedded etcd, its data in {DataDir.Name}");

    public static readonly Flag<string?> Namespace = Flag.Of("--namespace", "run inside the network namespace /run/netns/NAME",
        new FlagValue<string?>("NAME", ReadNamespace, name => name ?? ""), Defaults.NetworkNamespace,
        "the host's network namespace");

    public static readonly Flag<IPEndPoint> Listen = Flag.Of("--listen", "gRPC endpoint",
        new FlagValue<IPEndPoint>("ADDR:PORT", ReadEndPoint, endpoint => endpoint.ToString()), Defaults.Listen);

    public static readonly Flag<string?> Advertise = Flag.Of("--advertise", "address other nodes and proxies use",
        new FlagValue<string?>("ADDR:PORT", ReadHostPort, address => address ?? ""), Defaults.Advertise,
        "the listen address");

    public static readonly Flag<string?> NodeName = Flag.Of("--node-name", "stable node name",
        new FlagValue<string?>("NAME", ReadNodeName, name => name ?? ""), Defaults.NodeName,
        $"the name the data dir was first started with, else the host name (plus -NAME with {Namespace.Name})");

    public static readonly Flag<int> Slots = Flag.Of("--slots", "jobs this node runs at once", FlagValues.WholeNumber(1, MaxSlots), Defaults.Slots,
        $"the number of CPUs, {Defaults.Slots} here");

    public static readonly Flag<long> Memory = Flag.Of("--memory", "memory this node offers to jobs", FlagValues.Bytes, Defaults.MemoryBytes,
        "all of the machine's");

    public static readonly Flag<long> DefaultMemory = Flag.Of("--default-memory", "memory limit of a job that gives none",
        FlagValues.Bytes, Defaults.DefaultLimits.MemoryBytes);

    public static readonly Flag<double> DefaultCpus = Flag.Of("--default-cpus", "CPU limit (cores) of a job that gives none",
        FlagValues.Cores, Defaults.DefaultLimits.Cpus);

    public static readonly Flag<int> DefaultPids = Flag.Of("--default-pids", "process limit of a job that gives none",
        FlagValues.WholeNumber(1, int.MaxValue), checked((int)Defaults.DefaultLimits.Pids));

    public static readonly Flag<double> DefaultTime = Flag.Of("--default-time", "wall-clock limit of a job that gives none",
        FlagValues.Duration, Defaults.DefaultLimits.TimeSeconds, "none");

    public static readonly Flag<long> MaxMemory = Flag.Of("--max-memory", "the largest memory limit a job may ask for",
        FlagValues.Bytes, Defaults.MaxLimits.MemoryBytes,
        $"what {Memory.Name} offers");

    public static readonly Flag<double> MaxCpus = Flag.Of("--max-cpus", "the largest CPU limit (cores) a job may ask for",
        FlagValues.Cores, Defaults.MaxLimits.Cpus,
        $"the number of CPUs, {Defaults.MaxLimits.Cpus} here");

    public static readonly Flag<int> MaxPids = Flag.Of("--max-pids", "the largest process limit a job may ask for",
        FlagValues.WholeNumber(1, int.MaxValue), checked((int)Defaults.MaxLimits.Pids));

    public static readonly Flag<double> MaxTime = Flag.Of("--max-time", "the longest wall-clock limit a job may ask for",
        FlagValues.Duration, Defaults.MaxLimits.TimeSeconds, "none");

    public static readonly Flag<long> DefaultDisk = Flag.Of("--default-disk", "writable-layer limit of a job that gives none: the layer lives in memory and counts toward the job's memory limit; 0 puts it uncapped on the data dir's disk",
        FlagValues.Bytes, Defaults.DefaultLimits.DiskBytes);

    public static readonly Flag<long> MaxDisk = Flag.Of("--max-disk", "the largest writable-layer limit a job may ask for; jobs that give none get at most this",
        FlagValues.Bytes, Defaults.MaxLimits.DiskBytes, "none");

    public static readonly Flag<long> OutputCap = Flag.Of("--output-cap", "cap of each of a job's stdout and stderr",
        FlagValues.Bytes, Defaults.OutputCapBytes);

    public static readonly Flag<long> MaxInput = Flag.Of("--max-input", "the largest input archive a job may bring (--input), headers included",
        FlagValues.Bytes, Defaults.MaxInputBytes);

    public static readonly Flag<long> ArtifactCap = Flag.Of("--artifact-cap", "what a job's collected artifacts may hold; files past it are left out",
        FlagValues.Bytes, Defaults.ArtifactCapBytes);

    public static readonly Flag<double> Retention = Flag.Of("--retention", "finished jobs and their output are deleted after this",
        FlagValues.Duration, Defaults.Retention.TotalSeconds);

    public static readonly Flag<double> EtcdHistory = Flag.Of("--etcd-history",
        "how much of etcd's history the prime keeps: it compacts etcd to the revision of this long ago; 0 leaves compaction to etcd's own --auto-compaction-retention",
        FlagValues.Duration with
        {
            Read = text => FlagValues.Duration.Read(text) is var seconds && (seconds == 0 || seconds >= 1)
                ? seconds
                : throw new UsageException($"'{text}' must be 0 (the prime never compacts) or at least 1s"),
        },
        Defaults.EtcdHistory.TotalSeconds);

    public static readonly Flag<long> EtcdQuota = Flag.Of("--etcd-quota",
        "the space quota of the etcd the cluster uses (its --quota-backend-bytes; the embedded etcd is given it): with more than half of it in use, the prime compacts history early",
        FlagValues.Bytes with
        {
            Read = text => FlagValues.Bytes.Read(text) is var bytes && bytes >= MinEtcdQuota
                ? bytes
                : throw new UsageException($"'{text}' must be at least {Units.FormatBytes(MinEtcdQuota)}"),
        },
        Defaults.EtcdQuotaBytes, "etcd's 2 GiB; 4 GiB for the embedded etcd");

    private const long MinEtcdQuota = 16L << 20;

    public static readonly Flag<double> LeaseTtl = Flag.Of("--lease-ttl", "node liveness lease; a dead node is noticed within it",
        FlagValues.Duration, Defaults.LeaseTtl.TotalSeconds);

    public static readonly Flag<double> FenceTimeout = Flag.Of("--fence-timeout", "a node cut off from etcd this long kills its jobs",
        FlagValues.Duration, Defaults.FenceTimeout.TotalSeconds);

    public static readonly Flag<double> KeepAlive = Flag.Of("--keepalive",
        "a client connection that sends nothing this long is pinged, and closed with its calls when it does not answer within as long again",
        AtLeastASecond,
        Defaults.KeepAlive.TotalSeconds);

    public static readonly Flag<string> Socket = Flag.Of("--socket", "the local endpoint: a Unix socket; a caller is the user the kernel says it is",
        FlagValues.Text("PATH"), Defaults.Security.SocketPath);

    public static readonly Flag<string?> SocketGroup = Flag.Of("--socket-group", "the group that may use the socket besides root",
        new FlagValue<string?>("GROUP", group => group, group => group ?? ""), Defaults.Security.SocketGroup, "none: root only");

    public static readonly Flag<string?> TlsCa = Flag.Of("--tls-ca", "the cluster CA every certificate on the TCP endpoint must chain to",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<string?> TlsCert = Flag.Of("--tls-cert", "this node's certificate (`lclusterd ca node`): the TCP endpoint takes only mutual TLS",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<string?> TlsKey = Flag.Of("--tls-key", "the key of --tls-cert",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<bool> Insecure = Flag.Switch("--insecure",
        "the TCP endpoint without TLS, and every caller on it an admin: only on a network nobody else can reach");

    public static readonly Flag<string?> EtcdCa = Flag.Of("--etcd-cacert", "the CA of an external etcd's certificates",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<string?> EtcdCert = Flag.Of("--etcd-cert", "this node's client certificate for an external etcd",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<string?> EtcdKey = Flag.Of("--etcd-key", "the key of --etcd-cert",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, "none");

    public static readonly Flag<IPEndPoint?> HttpListen = Flag.Of("--http-listen",
        "HTTP/JSON API, dashboard and /metrics on TCP, under the TLS and --insecure rules of --listen (docs/http.md)",
        new FlagValue<IPEndPoint?>("ADDR:PORT", ReadEndPoint, endpoint => endpoint?.ToString() ?? ""), Defaults.Web.Listen, "none");

    public static readonly Flag<double> DashboardTtl = Flag.Of("--dashboard-ttl",
        "how long a dashboard link (`lclusterc --dashboard`) signs its holder in; an event stream it opened ends with it",
        AtLeastASecond,
        Defaults.Web.TokenLifetime.TotalSeconds);

    public static readonly Flag<string> HttpSocket = Flag.Of("--http-socket", "HTTP/JSON API, dashboard and /metrics on a Unix socket, as --socket",
        FlagValues.Text("PATH"), Defaults.Web.SocketPath, $"beside {Socket.Name}: NAME-http.sock");
    public static readonly Flag<int> UserMaxQueued = Flag.Of("--user-max-queued", "the most jobs one user (not an admin) may have queued at once",
        FlagValues.WholeNumber(1, int.MaxValue), checked((int)Defaults.Quotas.QueuedJobs));

    public static readonly Flag<long> UserMaxBytes = Flag.Of("--user-max-bytes",
        "the most bytes one user's (not an admin's) stored jobs may hold in etcd: command, environment, stdin, records and output tails",
        FlagValues.Bytes, Defaults.Quotas.StoredBytes);

    public static readonly Flag<long> UserMaxInputs = Flag.Of("--user-max-inputs",
        "the most bytes of input archives one user's (not an admin's) uploads may hold on this node's disk, until the jobs that use them are deleted",
        FlagValues.Bytes, Defaults.Quotas.InputBytes);

    public static readonly Flag<long> UsernsFirstId = Flag.Of("--userns-first-id",
        "the first host uid/gid of the blocks job user namespaces map onto (65536 ids per job); two daemons on one host need disjoint blocks",
        new FlagValue<long>("ID", ReadFirstHostId, id => id.ToString(CultureInfo.InvariantCulture)), Defaults.UserNamespaceFirstId ?? 0);

    public static readonly Flag<bool> NoUserns = Flag.Switch("--no-userns",
        "jobs run as host root, confined by capabilities, seccomp and mounts alone (for kernels before 5.19 or a rootfs that cannot be idmapped)");

    public static readonly Flag<bool> Help = Flag.Switch("--help", "this text", "-h");

    /// <summary>Accepted and ignored, so that a configuration written for an earlier version still starts; it will go.</summary>
    public static readonly Flag<int> EmbeddedEtcdPort = Flag.Of("--embedded-etcd-port",
        "ignored: the embedded etcd listens on no port now, only on a Unix socket in the data dir", FlagValues.WholeNumber(1, IPEndPoint.MaxPort));

    public static readonly FlagSet All = new("lclusterd",
    [
        RootFs, Etcd, Namespace, Listen, Advertise, NodeName, DataDir, Slots, Memory,
        DefaultMemory, DefaultCpus, DefaultPids, DefaultTime, DefaultDisk, MaxMemory, MaxCpus, MaxPids, MaxTime, MaxDisk,
        OutputCap, MaxInput, ArtifactCap, Retention, EtcdHistory, EtcdQuota, LeaseTtl, FenceTimeout, KeepAlive,
        Socket, SocketGroup, TlsCa, TlsCert, TlsKey, Insecure, EtcdCa, EtcdCert, EtcdKey, UserMaxQueued, UserMaxBytes, UserMaxInputs, UsernsFirstId, NoUserns,
        HttpListen, HttpSocket, DashboardTtl, EmbeddedEtcdPort, Help,
    ]);

    /// <summary>The node's configuration from its command line; null when it asks for --help, which goes alone.</summary>
    public static DaemonOptions? Parse(IReadOnlyList<string> args)
    {
        var flags = All.Parse(args);
        if (flags.Has(Help))
        {
            var other = flags.Given.FirstOrDefault(f => f != Help);
            return other is null ? null : throw new UsageException($"{other.Name} does not go with {Help.Name}");
        }
        var defaults = new JobLimits(flags.Get(DefaultMemory), flags.Get(DefaultCpus), flags.Get(DefaultPids), flags.Get(DefaultTime), flags.Get(DefaultDisk));
        var max = new JobLimits(flags.Get(MaxMemory), flags.Get(MaxCpus), flags.Get(MaxPids), flags.Get(MaxTime), flags.Get(MaxDisk));
        var options = new DaemonOptions
        {
            RootFs = flags.Require(RootFs),
            EtcdEndpoints = flags.Get(Etcd),
            NetworkNamespace = flags.Get(Namespace),
            Listen = flags.Get(Listen),
            Advertise = flags.Get(Advertise),
            NodeName = flags.Get(NodeName),
            DataDir = flags.Get(DataDir),
            Slots = flags.Get(Slots),
            MemoryBytes = flags.Get(Memory),
            DefaultLimits = defaults,
            MaxLimits = max,
            OutputCapBytes = flags.Get(OutputCap),
            MaxInputBytes = flags.Get(MaxInput),
            ArtifactCapBytes = flags.Get(ArtifactCap),
            Retention = TimeSpan.FromSeconds(flags.Get(Retention)),
            EtcdHistory = TimeSpan.FromSeconds(flags.Get(EtcdHistory)),
            EtcdQuotaBytes = flags.Get(EtcdQuota),
            LeaseTtl = TimeSpan.FromSeconds(Math.Max(MinLeaseTtl.TotalSeconds, flags.Get(LeaseTtl))),
            FenceTimeout = TimeSpan.FromSeconds(flags.Get(FenceTimeout)),
            KeepAlive = TimeSpan.FromSeconds(flags.Get(KeepAlive)),
            Quotas = new UserQuotas(flags.Get(UserMaxQueued), flags.Get(UserMaxBytes), flags.Get(UserMaxInputs)),
            UserNamespaceFirstId = flags.Has(NoUserns) ? null : (uint)flags.Get(UsernsFirstId),
            Ignored = flags.Has(EmbeddedEtcdPort)
                ? $"{EmbeddedEtcdPort.Name} is ignored: the embedded etcd listens on a Unix socket in the data dir, on no port; remove the flag"
                : null,
            Security = new SecurityOptions
            {
                SocketPath = flags.Get(Socket),
                SocketGroup = flags.Get(SocketGroup),
                Tls = Files(flags, TlsCa, TlsCert, TlsKey),
                Insecure = flags.Has(Insecure),
                EtcdTls = Files(flags, EtcdCa, EtcdCert, EtcdKey),
            },
            Web = new WebOptions
            {
                Listen = flags.Get(HttpListen),
                SocketPath = flags.Has(HttpSocket) ? flags.Get(HttpSocket) : WebOptions.SocketBeside(flags.Get(Socket)),
                TokenLifetime = TimeSpan.FromSeconds(flags.Get(DashboardTtl)),
            },
        };
        if (options.Security.Tls is not null && options.Security.Insecure)
            throw new UsageException($"{Insecure.Name} does not go with {TlsCert.Name}: a node with a certificate takes only mutual TLS");
        if (flags.Has(NoUserns) && flags.Has(UsernsFirstId))
            throw new UsageException($"{UsernsFirstId.Name} does not go with {NoUserns.Name}");
        if (options.UserNamespaces(options.Slots) is { } userns && userns.EndHostId > uint.MaxValue)
            throw new UsageException($"{UsernsFirstId.Name} {userns.FirstHostId}: the {userns.MaxContainers} id blocks of {Slots.Name} {options.Slots} go past host id {uint.MaxValue - 1}");
        if (options.FenceTimeout < options.LeaseTtl)
            throw new UsageException($"{FenceTimeout.Name} ({Units.FormatDuration(options.FenceTimeout.TotalSeconds)}) must not be shorter than {LeaseTtl.Name} ({Units.FormatDuration(options.LeaseTtl.TotalSeconds)})");
        if (defaults.Cpus > 0 && max.Cpus > 0 && defaults.Cpus > max.Cpus)
            throw new UsageException($"{DefaultCpus.Name} {defaults.Cpus} is over {MaxCpus.Name} {max.Cpus}");
        if (defaults.Pids > 0 && max.Pids > 0 && defaults.Pids > max.Pids)
            throw new UsageException($"{DefaultPids.Name} {defaults.Pids} is over {MaxPids.Name} {max.Pids}");
        if (defaults.MemoryBytes > 0 && max.MemoryBytes > 0 && defaults.MemoryBytes > max.MemoryBytes)
            throw new UsageException($"{DefaultMemory.Name} {Units.FormatBytes(defaults.MemoryBytes)} is over {MaxMemory.Name} {Units.FormatBytes(max.MemoryBytes)}");
        if (flags.Has(DefaultDisk) && defaults.DiskBytes > 0 && max.DiskBytes > 0 && defaults.DiskBytes > max.DiskBytes)
            throw new UsageException($"{DefaultDisk.Name} {Units.FormatBytes(defaults.DiskBytes)} is over {MaxDisk.Name} {Units.FormatBytes(max.DiskBytes)}");
        // A node with a largest time or disk limit gives it to jobs that ask for none (or whose default is larger and
        // was not asked for), so none runs longer or writes more than it allows, and none waits for a node that cannot take it.
        if (max.TimeSeconds > 0 && (defaults.TimeSeconds == 0 || defaults.TimeSeconds > max.TimeSeconds))
            defaults = defaults with { TimeSeconds = max.TimeSeconds };
        if (max.DiskBytes > 0 && (defaults.DiskBytes == 0 || defaults.DiskBytes > max.DiskBytes))
            defaults = defaults with { DiskBytes = max.DiskBytes };
        return options with { DefaultLimits = defaults };
    }

    /// <summary>The three files of a TLS identity, all or none; paths made absolute (the daemon may change directory).</summary>
    private static Security.TlsFiles? Files(ParsedFlags flags, Flag<string?> ca, Flag<string?> cert, Flag<string?> key)
    {
        var given = new[] { ca, cert, key }.Where(f => flags.Get(f) is not null).ToList();
        if (given.Count == 0)
            return null;
        if (given.Count < 3)
            throw new UsageException($"{string.Join(", ", new[] { ca, cert, key }.Except(given).Select(f => f.Name))} must come with {string.Join(" and ", given.Select(f => f.Name))}");
        return new Security.TlsFiles(Path.GetFullPath(flags.Get(ca)!), Path.GetFullPath(flags.Get(cert)!), Path.GetFullPath(flags.Get(key)!));
    }

    /// <summary>lclusterd --help, made from the flags above.</summary>
    public static string Usage() => $"""
        usage: lclusterd {RootFs.Spelling} [OPTIONS]

        {FlagHelp.Rows(All.Flags)}
        """;

    /// <summary>The limits a job may ask for on this node, given what the node offers.</summary>
    public static LimitPolicy Policy(DaemonOptions options, long nodeMemory)
    {
        var max = options.MaxLimits with
        {
            MemoryBytes = options.MaxLimits.MemoryBytes > 0 ? Math.Min(options.MaxLimits.MemoryBytes, nodeMemory) : nodeMemory,
        };
        var defaults = options.DefaultLimits with { MemoryBytes = Math.Min(options.DefaultLimits.MemoryBytes, max.MemoryBytes) };
        return new LimitPolicy(defaults, max);
    }

    /// <summary>A first host id: above the host's own users, and leaving room for this node's blocks below 2^32.</summary>
    private static long ReadFirstHostId(string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            && id >= UserNamespaceOptions.LowestFirstHostId && id <= uint.MaxValue
            ? id
            : throw new UsageException($"'{value}' is not a host id from {UserNamespaceOptions.LowestFirstHostId} to {uint.MaxValue}");

    private static IPEndPoint ReadEndPoint(string value) =>
        IPEndPoint.TryParse(value, out var endpoint) && endpoint.Port > 0 && value.Contains(':')
            ? endpoint
            : throw new UsageException($"'{value}' is not ADDR:PORT with a numeric address, like {NodeChannel.DefaultAddress} or [::1]:{Defaults.Listen.Port}");

    private static string ReadHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 1 or > IPEndPoint.MaxPort)
            throw new UsageException($"'{value}' is not HOST:PORT");
        return value;
    }

    private static IReadOnlyList<string> ReadEndpoints(string value)
    {
        var endpoints = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
            throw new UsageException("no etcd URL: give URL[,URL...] like http://10.0.0.1:2379");
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e.Contains("://", StringComparison.Ordinal) ? e : "http://" + e, UriKind.Absolute, out var uri) || uri.Port <= 0)
                throw new UsageException($"'{e}' is not an etcd URL like http://10.0.0.1:2379");
        }
        return endpoints;
    }

    private static string ReadNamespace(string value) =>
        value.Length <= 64 && !value.Contains('/') && value != "." && value != ".."
            ? value
            : throw new UsageException($"'{value}' is not a network namespace name (as made by `ip netns add NAME`)");

    private static string ReadNodeName(string value) =>
        NodeNamePattern().IsMatch(value)
            ? value
            : throw new UsageException($"'{value}' is not a node name: letters, digits, '.', '_' and '-', at most 63");

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\z")]
    private static partial Regex NodeNamePattern();
}
