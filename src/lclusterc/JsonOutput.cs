using Lcluster.Shared;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>The --json shapes of docs/spec.md §1: one object per job or node, times as RFC 3339 UTC.</summary>
internal static class JsonOutput
{
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Job(Job job) => Write(w => WriteJob(w, job));

    /// <summary>One change as one line of JSON (JSON Lines, for --listjobs --watch --json).</summary>
    public static string Event(JobEvent change) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("revision", change.Revision);
        w.WriteBoolean("deleted", change.Deleted);
        w.WritePropertyName("job");
        WriteJob(w, change.Job);
        w.WriteEndObject();
    }, indented: false);

    public static string Jobs(IEnumerable<Job> jobs) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var job in jobs)
            WriteJob(w, job);
        w.WriteEndArray();
    });

    public static string Nodes(IEnumerable<Node> nodes) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var node in nodes)
        {
            w.WriteStartObject();
            w.WriteString("name", node.Name);
            w.WriteString("address", node.Address);
            w.WriteBoolean("prime", node.Prime);
            w.WriteNumber("slots", node.Slots);
            w.WriteNumber("slots_used", node.SlotsUsed);
            w.WriteNumber("memory_bytes", node.MemoryBytes);
            w.WriteNumber("memory_reserved_bytes", node.MemoryReservedBytes);
            WriteLimits(w, "max_limits", node.MaxLimits);
            WriteTime(w, "started_at", node.StartedAt);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static void WriteJob(Utf8JsonWriter w, Job job)
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("name", job.Name);
        w.WriteString("command", job.Command);
        w.WriteString("state", JobStates.Name(job.State));
        w.WriteString("owner", job.Owner);
        if (job.ArrayId.Length > 0)
        {
            w.WriteString("array_id", job.ArrayId);
            w.WriteNumber("array_index", job.ArrayIndex);
        }
        if (job.ExitCode is { } exit)
            w.WriteNumber("exit_code", exit);
        else
            w.WriteNull("exit_code");
        if (job.Signal != 0)
            w.WriteNumber("signal", job.Signal);
        else
            w.WriteNull("signal");
        w.WriteBoolean("oom_killed", job.OomKilled);
        w.WriteBoolean("timed_out", job.TimedOut);
        w.WriteString("reason", job.Reason);
        if (job.Node.Length > 0)
            w.WriteString("node", job.Node);
        else
            w.WriteNull("node");
        w.WriteNumber("attempts", job.Attempts);
        w.WriteNumber("retries", job.Retries);
        w.WriteNumber("priority", job.Priority);
        WriteTime(w, "submitted_at", job.SubmittedAt);
        WriteTime(w, "started_at", job.StartedAt);
        WriteTime(w, "finished_at", job.FinishedAt);
        WriteLimits(w, "limits", job.Limits);
        w.WriteNumber("stdout_bytes", job.StdoutBytes);
        w.WriteNumber("stderr_bytes", job.StderrBytes);
        w.WriteNumber("peak_memory_bytes", job.PeakMemoryBytes);
        w.WriteNumber("cpu_seconds", job.CpuSeconds);
        w.WriteNumber("input_bytes", job.InputBytes);
        w.WriteNumber("input_files", job.InputFiles);
        w.WriteStartArray("artifacts");
        foreach (var pattern in job.Artifacts)
            w.WriteStringValue(pattern);
        w.WriteEndArray();
        w.WriteNumber("artifact_files", job.ArtifactFiles);
        w.WriteNumber("artifact_bytes", job.ArtifactBytes);
        w.WriteStartObject("env");
        foreach (var (key, value) in job.Env.OrderBy(e => e.Key, StringComparer.Ordinal))
            w.WriteString(key, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteLimits(Utf8JsonWriter w, string name, Limits? limits)
    {
        limits ??= new Limits();
        w.WriteStartObject(name);
        w.WriteNumber("memory_bytes", limits.MemoryBytes);
        w.WriteNumber("cpus", limits.Cpus);
        w.WriteNumber("pids", limits.Pids);
        w.WriteNumber("time_seconds", limits.TimeSeconds);
        w.WriteNumber("disk_bytes", limits.DiskBytes);
        w.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, Timestamp? time)
    {
        if (time is null)
            w.WriteNull(name);
        else
            w.WriteString(name, Rfc3339(time));
    }

    public static string Rfc3339(Timestamp time) =>
        time.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Write(Action<Utf8JsonWriter> body, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options with { Indented = indented }))
            body(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
