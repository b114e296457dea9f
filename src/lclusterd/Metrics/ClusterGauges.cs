using System.Diagnostics.Metrics;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Metrics;

/// <summary>
/// The cluster's state as gauges — jobs in each state, the queue's depth, each live node's slots and
/// memory, which node is prime — read from etcd when /metrics is scraped (<see cref="RefreshAsync"/>),
/// never in the background: an idle node that nobody scrapes reads nothing.
/// </summary>
internal sealed class ClusterGauges : IDisposable
{
    private readonly JobStore _store;
    private readonly Log _log;
    private readonly Meter _meter = new(DaemonMetrics.MeterName);
    private volatile Snapshot _now = Snapshot.Empty;
    private bool _failing;

    public ClusterGauges(JobStore store, Log log)
    {
        _store = store;
        _log = log;
        _meter.CreateObservableGauge("lcluster_jobs", () => _now.Jobs, "{job}", "Jobs in each state, in the whole cluster (label state)");
        _meter.CreateObservableGauge("lcluster_queue_depth", () => _now.Queue, "{job}", "Jobs waiting in the queue to be placed");
        _meter.CreateObservableGauge("lcluster_node_slots", () => _now.Slots, "{slot}", "Jobs each live node runs at once (label node)");
        _meter.CreateObservableGauge("lcluster_node_slots_used", () => _now.SlotsUsed, "{slot}", "Slots of each live node taken by jobs placed on it");
        _meter.CreateObservableGauge("lcluster_node_slots_starting", () => _now.SlotsStarting, "{slot}",
            "Of those, the jobs placed on each live node that it has not marked started yet (the prime places no more than " +
            $"{Prime.ApplyPace.MaxUnstarted} such jobs at once)");
        _meter.CreateObservableGauge("lcluster_node_memory", () => _now.Memory, "By", "Memory each live node offers to jobs");
        _meter.CreateObservableGauge("lcluster_node_memory_reserved", () => _now.MemoryReserved, "By", "Memory the jobs on each live node reserve");
        _meter.CreateObservableGauge("lcluster_node_prime", () => _now.Prime, "", "1 for the node that is prime, 0 for the others");
    }

    /// <summary>Reads the counts and the nodes again; when etcd cannot be read, the cluster's gauges are left out of this scrape.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        try
        {
            var counts = await _store.CountAsync(ct);
            var cluster = await _store.ReadClusterAsync(withQueue: false, ct);
            var prime = await _store.PrimeAsync(ct);
            _now = Snapshot.Of(counts, cluster, prime);
            if (_failing)
                _log.Info("metrics: etcd answers again; the cluster's gauges are back");
            _failing = false;
        }
        catch (EtcdException e)
        {
            _now = Snapshot.Empty;
            if (!_failing)
                _log.Warn($"metrics: cannot read the cluster's state from etcd ({e.Message}); /metrics leaves its gauges out until it can");
            _failing = true;
        }
    }

    public void Dispose() => _meter.Dispose();

    private sealed record Snapshot(
        Measurement<long>[] Jobs, Measurement<long>[] Queue, Measurement<long>[] Slots, Measurement<long>[] SlotsUsed,
        Measurement<long>[] SlotsStarting, Measurement<long>[] Memory, Measurement<long>[] MemoryReserved, Measurement<long>[] Prime)
    {
        public static readonly Snapshot Empty = new([], [], [], [], [], [], [], []);

        public static Snapshot Of(JobCounts counts, ClusterSnapshot cluster, string? prime)
        {
            var load = NodeLoad.Of(cluster.Members, cluster.Runs);
            var nodes = cluster.Members.Select(member =>
            {
                var held = load.GetValueOrDefault(member.Name);
                return (Member: member, Used: held.Slots, Starting: held.Starting, Reserved: held.MemoryBytes);
            }).ToList();
            return new Snapshot(
                [.. counts.ByState.Select(e => new Measurement<long>(e.Value, Tag("state", JobStates.Name(e.Key))))],
                [new Measurement<long>(counts.Queued)],
                [.. nodes.Select(n => new Measurement<long>(n.Member.Slots, Tag("node", n.Member.Name)))],
                [.. nodes.Select(n => new Measurement<long>(n.Used, Tag("node", n.Member.Name)))],
                [.. nodes.Select(n => new Measurement<long>(n.Starting, Tag("node", n.Member.Name)))],
                [.. nodes.Select(n => new Measurement<long>(n.Member.MemoryBytes, Tag("node", n.Member.Name)))],
                [.. nodes.Select(n => new Measurement<long>(n.Reserved, Tag("node", n.Member.Name)))],
                [.. nodes.Select(n => new Measurement<long>(n.Member.Name == prime ? 1 : 0, Tag("node", n.Member.Name)))]);
        }

        private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
    }
}
