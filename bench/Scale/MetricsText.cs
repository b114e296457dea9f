namespace Lcluster.Scale;

/// <summary>Prometheus text, as etcd and the daemon write it on /metrics.</summary>
internal static class MetricsText
{
    /// <summary>A series' value by its name (with its labels, if any), 0 if absent.</summary>
    public static Func<string, double> Series(string text)
    {
        var lines = text.Split('\n');
        return name => lines
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0).Single();
    }
}
