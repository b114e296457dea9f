using System.Diagnostics.Metrics;
using System.Text;
using Lcluster.Daemon.Metrics;
using Xunit;

namespace Lcluster.Unit.Tests;

/// <summary>
/// The text the exporter writes, line by line. (Web.Tests/MetricsTests holds a real node's scrape to Prometheus's own
/// parser; these pin the format's details: names, escaping, cumulative buckets, which meters are read.)
/// </summary>
public sealed class PrometheusExporterTests
{
    /// <summary>A meter of its own, and an exporter reading that meter only.</summary>
    private sealed class Exported : IDisposable
    {
        private readonly PrometheusExporter _exporter;

        public Exported()
        {
            Meter = new Meter(MeterName());
            _exporter = new PrometheusExporter(Meter.Name);
        }

        public Meter Meter { get; }

        public string Scrape()
        {
            var text = new StringBuilder();
            _exporter.Write(text);
            return text.ToString();
        }

        public void Dispose()
        {
            _exporter.Dispose();
            Meter.Dispose();
        }
    }

    private static string MeterName() => "test." + Guid.NewGuid().ToString("N");

    [Fact]
    public void A_counter_is_written_as_name_total_per_label_set_with_its_help_and_type()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        var jobs = meter.CreateCounter<long>("t_jobs", "{job}", "Jobs\\done\nhere");
        jobs.Add(2, new KeyValuePair<string, object?>("state", "failed"));
        jobs.Add(3, new KeyValuePair<string, object?>("state", "succeeded"));
        jobs.Add(4, new KeyValuePair<string, object?>("state", "failed"));

        Assert.Equal(
            "# HELP t_jobs_total Jobs\\\\done\\nhere\n" +
            "# TYPE t_jobs_total counter\n" +
            "t_jobs_total{state=\"failed\"} 6\n" +
            "t_jobs_total{state=\"succeeded\"} 3\n",
            exported.Scrape());
    }

    [Fact]
    public void A_histogram_has_cumulative_buckets_at_its_advised_bounds_inclusive_then_sum_and_count()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        var duration = meter.CreateHistogram("t_wait", "s", "Wait", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2] });
        foreach (var value in new[] { 0.125, 0.5, 0.75, 2, 9 })
            duration.Record(value);

        Assert.Equal(
            "# HELP t_wait_seconds Wait\n" +
            "# TYPE t_wait_seconds histogram\n" +
            "t_wait_seconds_bucket{le=\"0.5\"} 2\n" +
            "t_wait_seconds_bucket{le=\"1\"} 3\n" +
            "t_wait_seconds_bucket{le=\"2\"} 4\n" +
            "t_wait_seconds_bucket{le=\"+Inf\"} 5\n" +
            "t_wait_seconds_sum 12.375\n" +
            "t_wait_seconds_count 5\n",
            exported.Scrape());
    }

    [Fact]
    public void A_labelled_histogram_puts_le_after_its_labels_sorted_by_name()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        var duration = meter.CreateHistogram("t_req", "s", "Requests", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] });
        duration.Record(0.5, new KeyValuePair<string, object?>("op", "Txn"), new KeyValuePair<string, object?>("kind", "a\"b"));

        var lines = exported.Scrape().Split('\n');
        Assert.Contains("t_req_seconds_bucket{kind=\"a\\\"b\",op=\"Txn\",le=\"1\"} 1", lines);
        Assert.Contains("t_req_seconds_bucket{kind=\"a\\\"b\",op=\"Txn\",le=\"+Inf\"} 1", lines);
        Assert.Contains("t_req_seconds_count{kind=\"a\\\"b\",op=\"Txn\"} 1", lines);
    }

    [Fact]
    public void A_label_value_escapes_backslash_quote_and_newline()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        meter.CreateCounter<long>("t_odd", "{x}", "Odd").Add(1, new KeyValuePair<string, object?>("node", "a\\b\"c\nd"));

        Assert.Contains("t_odd_total{node=\"a\\\\b\\\"c\\nd\"} 1\n", exported.Scrape());
    }

    [Fact]
    public async Task Counts_added_while_others_scrape_are_all_there_at_the_end()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        var counter = meter.CreateCounter<long>("t_busy", "{x}", "Busy");
        var histogram = meter.CreateHistogram("t_busy_time", "s", "Busy", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] });
        var fresh = meter.CreateCounter<long>("t_fresh", "{x}", "New labels keep coming");
        var freshTime = meter.CreateHistogram<double>("t_fresh_time", "s", "New labels keep coming");
        using var stop = new CancellationTokenSource();
        var scraping = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                exported.Scrape();
        });
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                counter.Add(1, new KeyValuePair<string, object?>("worker", worker % 2));
                histogram.Record(0.5);
                // series that gain points while a scrape copies them
                fresh.Add(1, new KeyValuePair<string, object?>("n", worker * 1000 + i / 10));
                freshTime.Record(0.5, new KeyValuePair<string, object?>("n", worker * 1000 + i / 10));
            }
        })));
        await stop.CancelAsync();
        await scraping;

        var lines = exported.Scrape().Split('\n');
        Assert.Contains("t_busy_total{worker=\"0\"} 20000", lines);
        Assert.Contains("t_busy_total{worker=\"1\"} 20000", lines);
        Assert.Contains("t_busy_time_seconds_count 40000", lines);
        Assert.Contains("t_busy_time_seconds_sum 20000", lines);
        Assert.Equal(4000, lines.Count(l => l.StartsWith("t_fresh_total{", StringComparison.Ordinal) && l.EndsWith("} 10", StringComparison.Ordinal)));
        Assert.Equal(4000, lines.Count(l => l.StartsWith("t_fresh_time_seconds_count{", StringComparison.Ordinal) && l.EndsWith("} 10", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_gauge_is_observed_at_each_scrape_and_one_with_nothing_to_say_is_left_out()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        Measurement<long>[] now = [new(7, new KeyValuePair<string, object?>("node", "b")), new(5, new KeyValuePair<string, object?>("node", "a"))];
        meter.CreateObservableGauge("t_memory", () => now, "By", "Memory");

        Assert.Equal(
            "# HELP t_memory_bytes Memory\n# TYPE t_memory_bytes gauge\nt_memory_bytes{node=\"a\"} 5\nt_memory_bytes{node=\"b\"} 7\n",
            exported.Scrape());
        now = [];
        Assert.Equal("", exported.Scrape());
    }

    [Fact]
    public void Only_the_meters_asked_for_are_written_and_an_instrument_never_recorded_is_not()
    {
        using var exported = new Exported();
        var meter = exported.Meter;
        using var other = new Meter(MeterName());
        meter.CreateCounter<long>("t_never", "{x}", "Never");
        other.CreateCounter<long>("t_other", "{x}", "Other").Add(1);
        meter.CreateCounter<long>("t_b", "{x}", "B").Add(1);
        meter.CreateCounter<long>("t_a", "{x}", "A").Add(1);

        Assert.Equal(
            "# HELP t_a_total A\n# TYPE t_a_total counter\nt_a_total 1\n" +
            "# HELP t_b_total B\n# TYPE t_b_total counter\nt_b_total 1\n",
            exported.Scrape());
    }
}
