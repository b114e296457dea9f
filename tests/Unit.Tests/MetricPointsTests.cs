using System.Diagnostics.Metrics;
using Lcluster.Daemon.Metrics;
using Xunit;

namespace Lcluster.Unit.Tests;

public sealed class MetricPointsTests
{
    [Theory]
    [InlineData("lcluster_placements")]
    [InlineData("lcluster_node_slots")]
    [InlineData("lcluster_node_slots_used")]
    [InlineData("lcluster_node_memory")]
    [InlineData("lcluster_node_memory_reserved")]
    [InlineData("lcluster_node_prime")]
    public void An_instrument_labelled_by_node_keeps_room_for_every_node_of_a_cluster(string name)
    {
        using var meter = new Meter("test");
        var view = MetricsEndpoint.Points(meter.CreateCounter<long>(name));
        Assert.True(view is null, $"{name} is labelled by node, but its view caps it at {view?.CardinalityLimit} points");
    }

    [Theory]
    [InlineData("lcluster_job_ends")]
    [InlineData("lcluster_jobs")]
    [InlineData("lcluster_queue_depth")]
    [InlineData("lcluster_etcd_request_errors")]
    public void An_instrument_with_a_short_fixed_list_of_labels_keeps_a_small_table(string name)
    {
        using var meter = new Meter("test");
        Assert.Equal(MetricsEndpoint.FewPoints, MetricsEndpoint.Points(meter.CreateCounter<long>(name))?.CardinalityLimit);
    }
}
