using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Lcluster.Daemon.Metrics;

/// <summary>
/// The instruments of the given meters, kept from the moment they are published and written in Prometheus text
/// format (version 0.0.4) on demand. The daemon's instruments are of three kinds, and those are what it keeps:
/// counters of longs (written NAME_total), histograms of doubles (cumulative buckets from the instrument's advice,
/// _sum and _count), and observable gauges of longs (observed at each <see cref="Write"/>). A unit of "s" or "By"
/// is added to the name as _seconds or _bytes; an annotation such as "{job}" is not. A label set gets its point
/// when first recorded, so the memory kept grows with the label sets seen, not with a table sized up front.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    /// <summary>The Content-Type of what <see cref="Write"/> writes.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    // Single labels as written. Their values come from short fixed lists and the cluster's node names, so this stays small.
    private static readonly ConcurrentDictionary<(string Key, object? Value), string> OneLabel = new();

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _observing = new();
    private Dictionary<Instrument, List<(string Labels, long Value)>>? _observed;

    public PrometheusExporter(params string[] meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!meters.Contains(instrument.Meter.Name, StringComparer.Ordinal))
                return;
            var series = Series.For(instrument);
            if (series is null)
                return;
            _series[instrument] = series;
            listener.EnableMeasurementEvents(instrument, series);
        };
        _listener.MeasurementsCompleted = (instrument, _) => _series.TryRemove(instrument, out Series? _);
        _listener.SetMeasurementEventCallback<long>(OnLong);
        _listener.SetMeasurementEventCallback<double>(OnDouble);
        _listener.Start();
    }

    /// <summary>Every instrument with a point, sorted by name: a counter or histogram once recorded, a gauge that observed a value now.</summary>
    public void Write(StringBuilder text)
    {
        lock (_observing)
        {
            _observed = [];
            try
            {
                _listener.RecordObservableInstruments();
                foreach (var series in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
                    series.Write(text, _observed.GetValueOrDefault(series.Instrument));
            }
            finally
            {
                _observed = null;
            }
        }
    }

    private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        switch (state)
        {
            case CounterSeries counter:
                counter.Add(Labels(tags), value);
                break;
            case GaugeSeries:
                // Only during RecordObservableInstruments, under _observing.
                if (_observed is { } observed)
                {
                    if (!observed.TryGetValue(instrument, out var points))
                        observed[instrument] = points = [];
                    points.Add((Labels(tags), value));
                }
                break;
        }
    }

    private static void OnDouble(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state is HistogramSeries histogram)
            histogram.Record(Labels(tags), value);
    }

    /// <summary>A label set as written: "" for none, else {k="v",...} sorted by name, values escaped as the format says.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
            return "";
        // One label (an etcd request's op, a job's state, a node): written once, then looked up — every etcd request records one.
        if (tags.Length == 1)
        {
            var tag = tags[0];
            return OneLabel.TryGetValue((tag.Key, tag.Value), out var known) ? known : OneLabel[(tag.Key, tag.Value)] = Written(tags);
        }
        return Written(tags);
    }

    private static string Written(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var sorted = tags.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder("{");
        foreach (var (key, value) in sorted)
        {
            if (text.Length > 1)
                text.Append(',');
            text.Append(key).Append("=\"");
            foreach (var c in Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")
            {
                _ = c switch
                {
                    '\\' => text.Append("\\\\"),
                    '"' => text.Append("\\\""),
                    '\n' => text.Append("\\n"),
                    _ => text.Append(c),
                };
            }
            text.Append('"');
        }
        return text.Append('}').ToString();
    }

    /// <summary>A label set with one more label, for a histogram's le: {le="x"} or {k="v",le="x"}.</summary>
    private static string WithLe(string labels, string le) =>
        labels.Length == 0 ? $"{{le=\"{le}\"}}" : $"{labels[..^1]},le=\"{le}\"}}";

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    public void Dispose() => _listener.Dispose();

    private abstract class Series(Instrument instrument, string name, string type)
    {
        public Instrument Instrument { get; } = instrument;
        public string Name { get; } = name;

        /// <summary>The series an instrument gets, or null for a kind the daemon does not use.</summary>
        public static Series? For(Instrument instrument) => instrument switch
        {
            Counter<long> => new CounterSeries(instrument, NameOf(instrument) + "_total"),
            Histogram<double> histogram => new HistogramSeries(instrument, NameOf(instrument), histogram.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBuckets),
            ObservableGauge<long> => new GaugeSeries(instrument, NameOf(instrument)),
            _ => null,
        };

        private static string NameOf(Instrument instrument) => instrument.Unit switch
        {
            "s" => instrument.Name + "_seconds",
            "By" => instrument.Name + "_bytes",
            _ => instrument.Name,
        };

        public void Write(StringBuilder text, List<(string Labels, long Value)>? observed)
        {
            var lines = new StringBuilder();
            WritePoints(lines, observed);
            if (lines.Length == 0)
                return;
            text.Append("# HELP ").Append(Name).Append(' ').Append(Instrument.Description?.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(type).Append('\n');
            text.Append(lines);
        }

        protected abstract void WritePoints(StringBuilder text, List<(string Labels, long Value)>? observed);
    }

    private sealed class CounterSeries(Instrument instrument, string name) : Series(instrument, name, "counter")
    {
        private readonly ConcurrentDictionary<string, StrongBox<long>> _points = new(StringComparer.Ordinal);

        public void Add(string labels, long value) =>
            Interlocked.Add(ref _points.GetOrAdd(labels, _ => new StrongBox<long>()).Value, value);

        protected override void WritePoints(StringBuilder text, List<(string Labels, long Value)>? observed)
        {
            // ToArray: one copy under the dictionary's locks; LINQ would size an array by Count and then
            // CopyTo, which throws when a point is added in between
            foreach (var (labels, point) in _points.ToArray().OrderBy(p => p.Key, StringComparer.Ordinal))
                text.Append(Name).Append(labels).Append(' ').Append(Volatile.Read(ref point.Value).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private sealed class HistogramSeries(Instrument instrument, string name, double[] bounds) : Series(instrument, name, "histogram")
    {
        private readonly ConcurrentDictionary<string, Point> _points = new(StringComparer.Ordinal);

        public void Record(string labels, double value)
        {
            var point = _points.GetOrAdd(labels, _ => new Point(bounds.Length + 1));
            var bucket = Array.BinarySearch(bounds, value);
            bucket = bucket >= 0 ? bucket : ~bucket; // the first bound ≥ value; past the last: the +Inf bucket
            lock (point)
            {
                point.Counts[bucket]++;
                point.Sum += value;
            }
        }

        protected override void WritePoints(StringBuilder text, List<(string Labels, long Value)>? observed)
        {
            // ToArray: one copy under the dictionary's locks; LINQ would size an array by Count and then
            // CopyTo, which throws when a point is added in between
            foreach (var (labels, point) in _points.ToArray().OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                long[] counts;
                double sum;
                lock (point)
                {
                    counts = [.. point.Counts];
                    sum = point.Sum;
                }
                long cumulative = 0;
                for (var i = 0; i < counts.Length; i++)
                {
                    cumulative += counts[i];
                    var le = i < bounds.Length ? Number(bounds[i]) : "+Inf";
                    text.Append(Name).Append("_bucket").Append(WithLe(labels, le)).Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
                text.Append(Name).Append("_sum").Append(labels).Append(' ').Append(Number(sum)).Append('\n');
                text.Append(Name).Append("_count").Append(labels).Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        private sealed class Point(int buckets)
        {
            public long[] Counts { get; } = new long[buckets];
            public double Sum { get; set; }
        }
    }

    private sealed class GaugeSeries(Instrument instrument, string name) : Series(instrument, name, "gauge")
    {
        protected override void WritePoints(StringBuilder text, List<(string Labels, long Value)>? observed)
        {
            foreach (var (labels, value) in (observed ?? []).OrderBy(p => p.Labels, StringComparer.Ordinal))
                text.Append(Name).Append(labels).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}
