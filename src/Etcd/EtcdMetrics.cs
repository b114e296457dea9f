using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Lcluster.Etcd;

/// <summary>
/// How the client's unary requests to etcd go, as System.Diagnostics.Metrics instruments: a program that
/// wants them listens to the meter <see cref="MeterName"/>; without a listener they cost next to nothing.
/// </summary>
public static class EtcdMetrics
{
    /// <summary>The meter's name, for a MeterListener or an exporter.</summary>
    public const string MeterName = "Lcluster.Etcd";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> Duration = Meter.CreateHistogram("lcluster_etcd_request_duration", "s",
        "Time of one unary request to etcd (Range, Txn, Put, ...), failover to other endpoints included",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private static readonly Counter<long> Errors = Meter.CreateCounter<long>("lcluster_etcd_request_errors", "{request}",
        "Unary requests to etcd that failed: unavailable (no endpoint answered, the answer was lost, or etcd took no request for now) or refused (etcd said no)");

    /// <summary>Records one request: its kind (RangeResponse → "Range"), how long it took since <paramref name="started"/>, and how it failed.</summary>
    internal static void Record(string op, long started, Exception? failure)
    {
        var tag = new KeyValuePair<string, object?>("op", op);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tag);
        if (failure is EtcdException)
            Errors.Add(1, tag, new KeyValuePair<string, object?>("kind", failure is EtcdUnavailableException ? "unavailable" : "refused"));
    }

    /// <summary>The request's kind from its response type: RangeResponse → "Range".</summary>
    internal static string Op<TResponse>() => OpName<TResponse>.Value;

    private static class OpName<TResponse>
    {
        public static readonly string Value = typeof(TResponse).Name.EndsWith("Response", StringComparison.Ordinal)
            ? typeof(TResponse).Name[..^"Response".Length]
            : typeof(TResponse).Name;
    }
}
