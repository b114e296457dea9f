using System.Net;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Store;
using Lcluster.Shared;

namespace Lcluster.Daemon.Hosting;

/// <summary>lclusterd's configuration: the flags of docs/spec.md §1 plus limits, caps and timings.</summary>
internal sealed record DaemonOptions
{
    public const string DefaultListen = NodeChannel.DefaultAddress;

    public required string RootFs { get; init; }
    /// <summary>Endpoints of an existing etcd cluster; empty = run an embedded single-member etcd.</summary>
    public IReadOnlyList<string> EtcdEndpoints { get; init; } = [];
    public string? NetworkNamespace { get; init; }
    public IPEndPoint Listen { get; init; } = IPEndPoint.Parse(DefaultListen);
    public string? Advertise { get; init; }
    public string? NodeName { get; init; }
    public string DataDir { get; init; } = "/var/lib/lclusterd";
    public int Slots { get; init; } = Environment.ProcessorCount;
    /// <summary>Memory the node offers to jobs; 0 = the machine's total.</summary>
    public long MemoryBytes { get; init; }
    public JobLimits DefaultLimits { get; init; } = new(512L << 20, 1, 4096, 0);
    public JobLimits MaxLimits { get; init; } = new(0, Environment.ProcessorCount, 32768, 0);
    public long OutputCapBytes { get; init; } = 16L << 20;
    public TimeSpan Retention { get; init; } = TimeSpan.FromHours(24);
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a node that cannot reach etcd keeps its jobs running before it kills them.</summary>
    public TimeSpan FenceTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Client port of the embedded etcd (loopback, inside the node's network namespace).</summary>
    public int EmbeddedEtcdPort { get; init; } = 64052;

    /// <summary>Who may reach the node, and how it proves itself (docs/security.md).</summary>
    public SecurityOptions Security { get; init; } = new();

    public string AdvertiseAddress => Advertise ?? $"{Listen.Address}:{Listen.Port}";
}

/// <summary>A bad flag: one line on stderr and exit code 2.</summary>
internal sealed class OptionsException(string message) : Exception(message);

internal static class DaemonFlags
{
    public const string Usage = """
        usage: lclusterd --rootfs=DIR [OPTIONS]

          --rootfs=DIR            root filesystem every job runs in (read-only, with a private writable layer)
          --etcd=URL[,URL...]     join this etcd cluster (default: run an embedded etcd, data in --data-dir)
          --namespace=NAME        run inside the network namespace /run/netns/NAME
          --listen=ADDR:PORT      gRPC endpoint (default 127.0.0.1:64051)
          --advertise=ADDR:PORT   address other nodes and proxies use (default: the listen address)
          --node-name=NAME        stable node name (default: host name, plus -NAMESPACE)
          --data-dir=DIR          node state, job output, embedded etcd data (default /var/lib/lclusterd)
          --slots=N               jobs this node runs at once (default: number of CPUs)
          --memory=SIZE           memory this node offers to jobs (default: all of the machine's)
          --default-memory=SIZE --default-cpus=N --default-pids=N --default-time=DURATION
                                  limits of a job that gives none (default 512M, 1, 4096, none)
          --max-memory=SIZE --max-cpus=N --max-pids=N --max-time=DURATION
                                  the largest limits a job may ask for (default: node memory, CPUs, 32768, none)
          --output-cap=SIZE       cap of each of a job's stdout and stderr (default 16M)
          --retention=DURATION    finished jobs and their output are deleted after this (default 24h)
          --lease-ttl=DURATION    node liveness lease; a dead node is noticed within it (default 5s)
          --fence-timeout=DURATION  a node cut off from etcd this long kills its jobs (default 30s)
          --embedded-etcd-port=N  client port of the embedded etcd (default 64052)

        """;

    public static DaemonOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new OptionsException($"unexpected argument '{arg}'");
            var eq = arg.IndexOf('=');
            var flag = eq >= 0 ? arg[2..eq] : arg[2..];
            if (!Known.Contains(flag))
                throw new OptionsException($"unknown flag '--{flag}'");
            string value;
            if (eq >= 0)
                value = arg[(eq + 1)..];
            else if (i + 1 < args.Count)
                value = args[++i];
            else
                throw new OptionsException($"--{flag} needs a value");
            if (!values.TryAdd(flag, value))
                throw new OptionsException($"--{flag} given twice");
        }
        if (!values.TryGetValue("rootfs", out var rootfs) || rootfs.Length == 0)
            throw new OptionsException("--rootfs is required: the root filesystem jobs run in (build one with `make rootfs`)");

        var slots = values.TryGetValue("slots", out var s) ? Int("slots", s, 1, 4096) : Environment.ProcessorCount;
        var memory = values.TryGetValue("memory", out var m) ? Bytes("memory", m) : 0;
        var defaults = new JobLimits(
            values.TryGetValue("default-memory", out var dm) ? Bytes("default-memory", dm) : 512L << 20,
            values.TryGetValue("default-cpus", out var dc) ? Cpus("default-cpus", dc) : 1,
            values.TryGetValue("default-pids", out var dp) ? Int("default-pids", dp, 1, int.MaxValue) : 4096,
            values.TryGetValue("default-time", out var dt) ? Seconds("default-time", dt) : 0);
        var max = new JobLimits(
            values.TryGetValue("max-memory", out var xm) ? Bytes("max-memory", xm) : 0,
            values.TryGetValue("max-cpus", out var xc) ? Cpus("max-cpus", xc) : Environment.ProcessorCount,
            values.TryGetValue("max-pids", out var xp) ? Int("max-pids", xp, 1, int.MaxValue) : 32768,
            values.TryGetValue("max-time", out var xt) ? Seconds("max-time", xt) : 0);

        var options = new DaemonOptions
        {
            RootFs = rootfs,
            EtcdEndpoints = values.TryGetValue("etcd", out var etcd) ? Endpoints(etcd) : [],
            NetworkNamespace = values.TryGetValue("namespace", out var ns) ? NamespaceName(ns) : null,
            Listen = values.TryGetValue("listen", out var listen) ? EndPoint("listen", listen) : IPEndPoint.Parse(DaemonOptions.DefaultListen),
            Advertise = values.TryGetValue("advertise", out var adv) ? HostPort("advertise", adv) : null,
            NodeName = values.TryGetValue("node-name", out var name) ? NodeName(name) : null,
            DataDir = values.TryGetValue("data-dir", out var dir) ? NonEmpty("data-dir", dir) : "/var/lib/lclusterd",
            Slots = slots,
            MemoryBytes = memory,
            DefaultLimits = defaults,
            MaxLimits = max,
            OutputCapBytes = values.TryGetValue("output-cap", out var cap) ? Bytes("output-cap", cap) : 16L << 20,
            Retention = values.TryGetValue("retention", out var r) ? TimeSpan.FromSeconds(Seconds("retention", r)) : TimeSpan.FromHours(24),
            LeaseTtl = values.TryGetValue("lease-ttl", out var ttl) ? TimeSpan.FromSeconds(Math.Max(1, Seconds("lease-ttl", ttl))) : TimeSpan.FromSeconds(5),
            FenceTimeout = values.TryGetValue("fence-timeout", out var ft) ? TimeSpan.FromSeconds(Seconds("fence-timeout", ft)) : TimeSpan.FromSeconds(30),
            EmbeddedEtcdPort = values.TryGetValue("embedded-etcd-port", out var ep) ? Int("embedded-etcd-port", ep, 1, 65535) : 64052,
        };
        if (options.FenceTimeout < options.LeaseTtl)
            throw new OptionsException($"--fence-timeout ({Units.FormatSeconds(options.FenceTimeout.TotalSeconds)}) must not be shorter than --lease-ttl ({Units.FormatSeconds(options.LeaseTtl.TotalSeconds)})");
        if (defaults.Cpus > 0 && max.Cpus > 0 && defaults.Cpus > max.Cpus)
            throw new OptionsException($"--default-cpus {defaults.Cpus} is over --max-cpus {max.Cpus}");
        if (defaults.Pids > 0 && max.Pids > 0 && defaults.Pids > max.Pids)
            throw new OptionsException($"--default-pids {defaults.Pids} is over --max-pids {max.Pids}");
        if (defaults.MemoryBytes > 0 && max.MemoryBytes > 0 && defaults.MemoryBytes > max.MemoryBytes)
            throw new OptionsException($"--default-memory is over --max-memory");
        if (max.TimeSeconds > 0 && (defaults.TimeSeconds == 0 || defaults.TimeSeconds > max.TimeSeconds))
            options = options with { DefaultLimits = defaults with { TimeSeconds = max.TimeSeconds } };
        return options;
    }

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

    private static readonly HashSet<string> Known =
    [
        "rootfs", "etcd", "namespace", "listen", "advertise", "node-name", "data-dir", "slots", "memory",
        "default-memory", "default-cpus", "default-pids", "default-time", "max-memory", "max-cpus", "max-pids", "max-time",
        "output-cap", "retention", "lease-ttl", "fence-timeout", "embedded-etcd-port",
    ];

    private static string NonEmpty(string flag, string value) =>
        value.Length > 0 ? value : throw new OptionsException($"--{flag} is empty");

    private static int Int(string flag, string value, int min, int max) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new OptionsException($"--{flag}: '{value}' is not a whole number from {min} to {max}");

    private static long Bytes(string flag, string value) =>
        Units.TryParseBytes(value, out var bytes, out var error) ? bytes : throw new OptionsException($"--{flag}: {error}");

    private static double Seconds(string flag, string value) =>
        Units.TryParseSeconds(value, out var seconds, out var error) ? seconds : throw new OptionsException($"--{flag}: {error}");

    private static double Cpus(string flag, string value) =>
        double.TryParse(value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new OptionsException($"--{flag}: '{value}' is not a positive number of cores");

    private static IPEndPoint EndPoint(string flag, string value) =>
        IPEndPoint.TryParse(value, out var ep) && ep.Port > 0 && value.Contains(':')
            ? ep
            : throw new OptionsException($"--{flag}: '{value}' is not ADDR:PORT with a numeric address, like 127.0.0.1:64051 or [::1]:64051");

    private static string HostPort(string flag, string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 1 or > 65535)
            throw new OptionsException($"--{flag}: '{value}' is not HOST:PORT");
        return value;
    }

    private static IReadOnlyList<string> Endpoints(string value)
    {
        var endpoints = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
            throw new OptionsException("--etcd is empty: give URL[,URL...] like http://10.0.0.1:2379");
        foreach (var e in endpoints)
        {
            if (!Uri.TryCreate(e.Contains("://", StringComparison.Ordinal) ? e : "http://" + e, UriKind.Absolute, out var uri) || uri.Port <= 0)
                throw new OptionsException($"--etcd: '{e}' is not an etcd URL like http://10.0.0.1:2379");
        }
        return endpoints;
    }

    private static string NamespaceName(string value) =>
        value.Length > 0 && value.Length <= 64 && !value.Contains('/') && value != "." && value != ".."
            ? value
            : throw new OptionsException($"--namespace: '{value}' is not a network namespace name (as made by `ip netns add NAME`)");

    private static string NodeName(string value) =>
        System.Text.RegularExpressions.Regex.IsMatch(value, "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
            ? value
            : throw new OptionsException($"--node-name: '{value}' is not a node name: letters, digits, '.', '_' and '-', at most 63");
}
