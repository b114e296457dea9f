namespace Lcluster.Scale;

/// <summary>A few counters from etcd's /metrics endpoint: what it did, key by key, between two readings.</summary>
internal sealed record EtcdMetrics(double Puts, double Deletes, double Ranges, double Txns)
{
    public static async Task<EtcdMetrics> ReadAsync(string clientUrl, CancellationToken ct)
    {
        var counter = await CountersAsync(clientUrl, ct);
        return new EtcdMetrics(counter("etcd_debugging_mvcc_put_total"), counter("etcd_debugging_mvcc_delete_total"),
            counter("etcd_debugging_mvcc_range_total"), counter("etcd_debugging_mvcc_txn_total"));
    }

    /// <summary>
    /// Compactions etcd accepted and has not finished: a Compact request is answered once the compaction is
    /// scheduled, and etcd then deletes the old revisions in the background, in batches, while it serves reads.
    /// </summary>
    public static async Task<double> CompactionsUnderwayAsync(string clientUrl, CancellationToken ct)
    {
        var counter = await CountersAsync(clientUrl, ct);
        return counter("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Compact\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}")
            - counter("etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count");
    }

    /// <summary>Reads /metrics once; the function gives a series' value by its name (with its labels, if any), 0 if absent.</summary>
    private static async Task<Func<string, double>> CountersAsync(string clientUrl, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return MetricsText.Series(await http.GetStringAsync($"{clientUrl}/metrics", ct));
    }

    public static EtcdMetrics operator -(EtcdMetrics a, EtcdMetrics b) => new(a.Puts - b.Puts, a.Deletes - b.Deletes, a.Ranges - b.Ranges, a.Txns - b.Txns);
}
