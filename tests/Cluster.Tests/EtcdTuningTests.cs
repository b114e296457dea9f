using Lcluster.TestSupport;

namespace Lcluster.Cluster.Tests;

/// <summary>What the tests, the bench and the scale and chaos runs measure is the etcd a user of the defaults gets.</summary>
public sealed class EtcdTuningTests
{
    [Fact]
    public void The_tests_etcd_is_tuned_as_the_daemons_embedded_one_is()
    {
        // The embedded etcd's own process is checked against these in Cli.Tests (HousekeepingTests).
        Assert.Equal(Daemon.Hosting.EmbeddedEtcd.CostFlags, EtcdServer.CostFlags);
    }
}
