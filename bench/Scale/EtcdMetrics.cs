namespace Lcluster.Scale;

/// <summary>A few counters from etcd's /metrics endpoint: what it did, key by key, between two readings.</summary>
internal sealed record EtcdMetrics(double Puts, double Deletes, double Ranges, double Txns)
{
    public static async Task<EtcdMetrics> ReadAsync(string clientUrl, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await http.GetStringAsync($"{clientUrl}/metrics", ct);
        double Counter(string name) => text.Split('\n')
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0).Single();
        return new EtcdMetrics(Counter("etcd_debugging_mvcc_put_total"), Counter("etcd_debugging_mvcc_delete_total"),
            Counter("etcd_debugging_mvcc_range_total"), Counter("etcd_debugging_mvcc_txn_total"));
    }

    public static EtcdMetrics operator -(EtcdMetrics a, EtcdMetrics b) => new(a.Puts - b.Puts, a.Deletes - b.Deletes, a.Ranges - b.Ranges, a.Txns - b.Txns);
}
