using System.Diagnostics;
using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>One sample of a scrape: its name (with _total, _bucket, ... as written), labels and value.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A Prometheus text scrape parsed by the reference parser: Python's prometheus_client (Debian's
/// python3-prometheus-client), so the exporter's output is held to what Prometheus's own library reads.
/// </summary>
public static class PrometheusText
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(out))
        """;

    public static async Task<IReadOnlyList<Sample>> ParseAsync(string text)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"parsing metrics needs {Python} with python3-prometheus-client: run `make deps`");
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            ArgumentList = { "-c", Script },
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"prometheus_client could not parse the scrape ({await stderr}); it was:\n{text}");
        return JsonDocument.Parse(await stdout).RootElement.EnumerateArray().Select(s => new Sample(
            s.GetProperty("name").GetString()!,
            s.GetProperty("labels").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString()!),
            s.GetProperty("value").GetDouble())).ToList();
    }

    /// <summary>The value of the one sample with this name and these labels (others may exist); fails naming what was there.</summary>
    public static double Value(this IReadOnlyList<Sample> samples, string name, params (string Key, string Value)[] labels)
    {
        var found = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        return found.Count == 1
            ? found[0].Value
            : throw new Xunit.Sdk.XunitException($"{found.Count} samples {name}{{{string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}}}; the scrape has: " +
                                                 string.Join(", ", samples.Where(s => s.Name.StartsWith(name, StringComparison.Ordinal)).Select(s => $"{s.Name}{{{string.Join(",", s.Labels)}}}={s.Value}")));
    }
}
