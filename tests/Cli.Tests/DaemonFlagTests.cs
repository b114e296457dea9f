extern alias daemon;
using System.Net;
using daemon::Lcluster.Daemon.Hosting;
using daemon::Lcluster.Daemon.Store;
using DaemonUsageException = daemon::Lcluster.Shared.UsageException;
using DaemonUnits = daemon::Lcluster.Shared.Units;

namespace Lcluster.Cli.Tests;

/// <summary>lclusterd's command line, parsed in-process: every flag of its --help, with the defaults of DaemonOptions.</summary>
public sealed class DaemonFlagTests
{
    private static DaemonOptions Parse(params string[] args) => DaemonFlags.Parse(args) ?? throw new Xunit.Sdk.XunitException("parsed as --help");

    private static string Refused(params string[] args) => Assert.Throws<DaemonUsageException>(() => DaemonFlags.Parse(args)).Message;

    [Fact]
    public void Only_rootfs_given_is_every_default_of_the_options_record()
    {
        Assert.Equal(DaemonOptions.Defaults with { RootFs = "/srv/rootfs" }, Parse("--rootfs=/srv/rootfs"));
    }

    [Fact]
    public void Every_flag_reaches_its_option_in_both_spellings()
    {
        string[] given =
        [
            "--rootfs=/r", "--etcd=http://e1:2379,e2:2379", "--namespace=n1", "--listen=10.0.0.1:7000", "--advertise=node1:7000",
            "--node-name=n-1", "--data-dir=/d", "--slots=3", "--memory=2G", "--default-memory=64M", "--default-cpus=0.5",
            "--default-pids=10", "--default-time=1m", "--max-memory=1G", "--max-cpus=2", "--max-pids=20", "--max-time=1h",
            "--output-cap=1M", "--retention=2h", "--etcd-history=30m", "--etcd-quota=8G", "--dashboard-ttl=10m", "--lease-ttl=3s", "--fence-timeout=9s", "--keepalive=45s",
            "--default-disk=100M", "--max-disk=1G", "--user-max-queued=7", "--user-max-bytes=5M", "--user-max-inputs=6M", "--userns-first-id=70000",
        ];
        var joined = Parse(given);
        var separate = Parse(given.SelectMany(a => a.Split('=', 2)).ToArray());

        Assert.Equal(joined with { EtcdEndpoints = [] }, separate with { EtcdEndpoints = [] });
        Assert.Equal(["http://e1:2379", "e2:2379"], separate.EtcdEndpoints);
        Assert.Equal(new DaemonOptions
        {
            RootFs = "/r", EtcdEndpoints = joined.EtcdEndpoints, NetworkNamespace = "n1", Listen = IPEndPoint.Parse("10.0.0.1:7000"),
            Advertise = "node1:7000", NodeName = "n-1", DataDir = "/d", Slots = 3, MemoryBytes = 2L << 30,
            DefaultLimits = new JobLimits(64L << 20, 0.5, 10, 60, 100L << 20), MaxLimits = new JobLimits(1L << 30, 2, 20, 3600, 1L << 30),
            OutputCapBytes = 1L << 20, Retention = TimeSpan.FromHours(2), EtcdHistory = TimeSpan.FromMinutes(30), EtcdQuotaBytes = 8L << 30, LeaseTtl = TimeSpan.FromSeconds(3),
            FenceTimeout = TimeSpan.FromSeconds(9), KeepAlive = TimeSpan.FromSeconds(45), Quotas = new UserQuotas(7, 5L << 20, 6L << 20), UserNamespaceFirstId = 70000,
            Web = new daemon::Lcluster.Daemon.Web.WebOptions { TokenLifetime = TimeSpan.FromMinutes(10) },
        }, joined);
    }

    [Fact]
    public void The_embedded_etcd_port_of_earlier_versions_is_accepted_and_said_to_be_ignored()
    {
        var options = Parse(["--rootfs=/r", "--embedded-etcd-port=64052"]);
        Assert.Equal(Parse(["--rootfs=/r"]) with { Ignored = options.Ignored }, options);
        Assert.Contains("--embedded-etcd-port is ignored", options.Ignored);
        Assert.Null(Parse(["--rootfs=/r"]).Ignored);
    }

    [Fact]
    public void Help_goes_alone()
    {
        Assert.Null(DaemonFlags.Parse(["--help"]));
        Assert.Null(DaemonFlags.Parse(["-h"]));
        Assert.Equal("--rootfs does not go with --help", Refused("--help", "--rootfs=/r"));
    }

    [Fact]
    public void Rootfs_is_required_and_says_how_to_get_one()
    {
        Assert.Equal($"--rootfs is required: {DaemonFlags.RootFs.Description}", Refused("--slots=2"));
        Assert.Contains("make rootfs", DaemonFlags.RootFs.Description);
        Assert.Equal("--rootfs needs a value: --rootfs=DIR", Refused("--rootfs=", "--slots=2"));
    }

    [Fact]
    public void A_flag_given_twice_an_unknown_flag_and_a_stray_word_are_refused()
    {
        Assert.Equal("--slots given twice", Refused("--rootfs=/r", "--slots=1", "--slots", "2"));
        Assert.Equal("unknown flag '--bogus'", Refused("--rootfs=/r", "--bogus"));
        Assert.Equal("unexpected argument 'extra'", Refused("--rootfs=/r", "extra"));
    }

    [Theory]
    [InlineData("--slots=0", "--slots: '0' is not a whole number from 1 to 4096")]
    [InlineData("--listen=nowhere", "--listen: 'nowhere' is not ADDR:PORT")]
    [InlineData("--advertise=host", "--advertise: 'host' is not HOST:PORT")]
    [InlineData("--etcd=http://", "--etcd: 'http://' is not an etcd URL")]
    [InlineData("--namespace=a/b", "--namespace: 'a/b' is not a network namespace name")]
    [InlineData("--node-name=-x", "--node-name: '-x' is not a node name")]
    [InlineData("--default-cpus=0", "--default-cpus: '0' is not a positive number of cores")]
    [InlineData("--output-cap=big", "--output-cap: 'big' is not a size")]
    [InlineData("--etcd-history=-5m", "--etcd-history: '-5m' is not a duration")]
    [InlineData("--etcd-history=200ms", "--etcd-history: '200ms' must be 0 (the prime never compacts) or at least 1s")]
    [InlineData("--etcd-quota=1M", "--etcd-quota: '1M' must be at least 16 MiB")]
    [InlineData("--keepalive=500ms", "--keepalive: '500ms' must be at least 1s")]
    [InlineData("--userns-first-id=1000", "--userns-first-id: '1000' is not a host id from 65536 to 4294967295")]
    public void A_bad_value_is_refused_naming_the_flag(string flag, string message)
    {
        Assert.StartsWith(message, Refused("--rootfs=/r", flag));
    }

    [Fact]
    public void Etcd_history_zero_turns_the_primes_compaction_off()
    {
        Assert.Equal(TimeSpan.Zero, Parse("--rootfs=/r", "--etcd-history=0").EtcdHistory);
        Assert.Equal(TimeSpan.FromMinutes(10), Parse("--rootfs=/r").EtcdHistory);
    }

    [Fact]
    public void Flags_that_contradict_each_other_are_refused()
    {
        Assert.Equal("--fence-timeout (5s) must not be shorter than --lease-ttl (10s)", Refused("--rootfs=/r", "--lease-ttl=10s", "--fence-timeout=5s"));
        Assert.Equal("--default-cpus 4 is over --max-cpus 2", Refused("--rootfs=/r", "--default-cpus=4", "--max-cpus=2"));
        Assert.Equal("--default-pids 9 is over --max-pids 8", Refused("--rootfs=/r", "--default-pids=9", "--max-pids=8"));
        Assert.Equal("--default-memory 2 GiB is over --max-memory 1 GiB", Refused("--rootfs=/r", "--default-memory=2G", "--max-memory=1G"));
        Assert.Equal("--default-disk 512 MiB is over --max-disk 128 MiB", Refused("--rootfs=/r", "--default-disk=512M", "--max-disk=128M"));
        Assert.Equal("--userns-first-id does not go with --no-userns", Refused("--rootfs=/r", "--userns-first-id=70000", "--no-userns"));
        Assert.StartsWith("--userns-first-id 4294000000: the 72 id blocks of --slots 4 go past host id 4294967294",
            Refused("--rootfs=/r", "--userns-first-id=4294000000", "--slots=4"));
    }

    [Fact]
    public void Jobs_get_a_user_namespace_unless_the_node_says_no()
    {
        var blocks = Parse("--rootfs=/r", "--slots=3").UserNamespaces(3)!;
        Assert.Equal(1u << 30, blocks.FirstHostId);
        Assert.Equal(2 * 3 + 64, blocks.MaxContainers);
        Assert.Equal(70000u, Parse("--rootfs=/r", "--userns-first-id=70000").UserNamespaces(1)!.FirstHostId);
        Assert.Null(Parse("--rootfs=/r", "--no-userns").UserNamespaces(1));
    }

    [Fact]
    public void A_largest_time_or_disk_limit_bounds_the_default_of_jobs_that_give_none()
    {
        Assert.Equal(600, Parse("--rootfs=/r", "--max-time=10m").DefaultLimits.TimeSeconds);
        Assert.Equal(60, Parse("--rootfs=/r", "--max-time=10m", "--default-time=1m").DefaultLimits.TimeSeconds);
        // So does a largest disk limit, under the default one (256 MiB) or instead of an uncapped layer: no job waits for ever.
        Assert.Equal(128L << 20, Parse("--rootfs=/r", "--max-disk=128M").DefaultLimits.DiskBytes);
        Assert.Equal(1L << 30, Parse("--rootfs=/r", "--max-disk=1G", "--default-disk=0").DefaultLimits.DiskBytes);
        Assert.Equal(256L << 20, Parse("--rootfs=/r", "--max-disk=1G").DefaultLimits.DiskBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), Parse("--rootfs=/r", "--lease-ttl=0").LeaseTtl);
    }

    [Fact]
    public void Help_lists_every_flag_with_its_value_name_and_the_default_of_the_options_record()
    {
        var help = DaemonFlags.Usage();
        var text = string.Join(" ", help.Split('\n').Select(l => l.Trim()));

        Assert.StartsWith("usage: lclusterd --rootfs=DIR [OPTIONS]\n", help);
        foreach (var flag in DaemonFlags.All.Flags)
        {
            Assert.Contains("\n  " + flag.Spelling + (flag.Names.Count() > 1 ? "," : " "), help);
            Assert.Contains(flag.Description, text);
            if (flag.DefaultText is { } shown)
                Assert.Contains($"(default: {shown})", text);
        }
        var defaults = DaemonOptions.Defaults;
        Assert.Contains($"(default: {defaults.Listen})", text);
        Assert.Contains($"(default: {DaemonUnits.FormatBytes(defaults.DefaultLimits.MemoryBytes)})", text);
        Assert.Contains($"(default: {defaults.DefaultLimits.Pids})", text);
        Assert.Contains($"(default: {defaults.MaxLimits.Pids})", text);
        Assert.Contains($"(default: {DaemonUnits.FormatBytes(defaults.OutputCapBytes)})", text);
        Assert.Contains($"(default: {DaemonUnits.FormatDuration(defaults.Retention.TotalSeconds)})", text);
        Assert.Contains($"(default: {DaemonUnits.FormatDuration(defaults.FenceTimeout.TotalSeconds)})", text);
        Assert.Contains($"(default: {defaults.DataDir})", text);
    }
}
