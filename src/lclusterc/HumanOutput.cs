using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>Output for people: a job as aligned "key: value" lines, lists as aligned tables.</summary>
internal static class HumanOutput
{
    public static string Job(Job job, DateTimeOffset now)
    {
        var rows = new List<(string, string)>
        {
            ("id", PrintableText.Escape(job.Id)),
            ("name", job.Name.Length > 0 ? PrintableText.Escape(job.Name) : "-"),
            ("command", PrintableText.Escape(job.Command)),
            ("state", JobStates.Name(job.State)),
            ("owner", job.Owner.Length > 0 ? PrintableText.Escape(job.Owner) : "-"),
        };
        if (job.ArrayId.Length > 0)
            rows.Add(("array", $"{PrintableText.Escape(job.ArrayId)} [{job.ArrayIndex.ToString(CultureInfo.InvariantCulture)}]"));
        if (job.ExitCode is { } exit)
            rows.Add(("exit code", exit.ToString(CultureInfo.InvariantCulture)));
        if (job.Signal != 0)
            rows.Add(("signal", $"{job.Signal} ({SignalName(job.Signal)})"));
        if (job.OomKilled)
            rows.Add(("oom killed", "yes"));
        if (job.TimedOut)
            rows.Add(("timed out", "yes"));
        if (job.Reason.Length > 0)
            rows.Add(("reason", PrintableText.Escape(job.Reason)));
        rows.Add(("node", job.Node.Length > 0 ? PrintableText.Escape(job.Node) : "-"));
        rows.Add(("attempts", job.Retries > 0 ? $"{job.Attempts} (retries {job.Retries})" : job.Attempts.ToString(CultureInfo.InvariantCulture)));
        if (job.Priority != 0)
            rows.Add(("priority", job.Priority.ToString(CultureInfo.InvariantCulture)));
        rows.Add(("submitted", When(job.SubmittedAt, now)));
        rows.Add(("started", When(job.StartedAt, now)));
        rows.Add(("finished", When(job.FinishedAt, now)));
        if (job.StartedAt is not null)
            rows.Add(("run time", Units.FormatSeconds(((job.FinishedAt?.ToDateTimeOffset() ?? now) - job.StartedAt.ToDateTimeOffset()).TotalSeconds)));
        rows.Add(("limits", Limits(job.Limits)));
        if (JobStates.IsFinished(job.State) && job.StartedAt is not null)
        {
            rows.Add(("peak memory", Units.FormatBytes(job.PeakMemoryBytes)));
            rows.Add(("cpu time", Units.FormatSeconds(job.CpuSeconds)));
        }
        rows.Add(("output", $"stdout {Units.FormatBytes(job.StdoutBytes)}, stderr {Units.FormatBytes(job.StderrBytes)}"));
        if (job.InputFiles > 0)
            rows.Add(("inputs", $"{job.InputFiles} file(s), {Units.FormatBytes(job.InputBytes)}"));
        if (job.Artifacts.Count > 0)
            rows.Add(("artifacts", PrintableText.Escape(string.Join(" ", job.Artifacts)) +
                (JobStates.IsFinished(job.State) ? $" ({job.ArtifactFiles} file(s), {Units.FormatBytes(job.ArtifactBytes)})" : "")));
        foreach (var (key, value) in job.Env.OrderBy(e => e.Key, StringComparer.Ordinal))
            rows.Add(("env", PrintableText.Escape($"{key}={value}")));
        var width = rows.Max(r => r.Item1.Length) + 1;
        var text = new StringBuilder();
        foreach (var (key, value) in rows)
            text.Append((key + ":").PadRight(width)).Append(' ').AppendLine(value);
        return text.ToString();
    }

    public static string Jobs(IReadOnlyList<Job> jobs, DateTimeOffset now) => Table(
        ["ID", "NAME", "STATE", "EXIT", "NODE", "SUBMITTED", "RUN TIME", "COMMAND"],
        jobs.Select(j => new[]
        {
            PrintableText.Escape(j.Id),
            j.Name.Length > 0 ? PrintableText.Shorten(j.Name, 20) : "-",
            JobStates.Name(j.State),
            j.ExitCode is { } e ? e.ToString(CultureInfo.InvariantCulture) : j.Signal != 0 ? SignalName(j.Signal) : "-",
            j.Node.Length > 0 ? PrintableText.Escape(j.Node) : "-",
            j.SubmittedAt is null ? "-" : Ago(j.SubmittedAt, now),
            j.StartedAt is null ? "-" : Units.FormatSeconds(((j.FinishedAt?.ToDateTimeOffset() ?? now) - j.StartedAt.ToDateTimeOffset()).TotalSeconds),
            PrintableText.Shorten(j.Command, 40),
        }));

    /// <summary>One line per change, for --listjobs --watch: when, the job, its state now, and why.</summary>
    public static string Event(JobEvent change, DateTimeOffset now) =>
        $"{now:HH:mm:ss} {PrintableText.Escape(change.Job.Id)} {(change.Deleted ? "deleted" : JobStates.Name(change.Job.State))} {PrintableText.Shorten(change.Job.Reason, 80)}";

    public static string Nodes(IReadOnlyList<Node> nodes, DateTimeOffset now) => Table(
        ["NAME", "ADDRESS", "PRIME", "SLOTS", "MEMORY", "UP"],
        nodes.Select(n => new[]
        {
            PrintableText.Escape(n.Name),
            PrintableText.Escape(n.Address),
            n.Prime ? "*" : "",
            $"{n.SlotsUsed}/{n.Slots}",
            $"{Units.FormatBytes(n.MemoryReservedBytes)}/{Units.FormatBytes(n.MemoryBytes)}",
            n.StartedAt is null ? "-" : Units.FormatSeconds((now - n.StartedAt.ToDateTimeOffset()).TotalSeconds),
        }));

    private static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in all)
        {
            var line = string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c])));
            text.AppendLine(line.TrimEnd());
        }
        return text.ToString();
    }

    private static string Limits(Limits? limits)
    {
        if (limits is null)
            return "none";
        var parts = new List<string>
        {
            "memory " + (limits.MemoryBytes > 0 ? Units.FormatBytes(limits.MemoryBytes) : "unlimited"),
            "cpus " + (limits.Cpus > 0 ? limits.Cpus.ToString(CultureInfo.InvariantCulture) : "unlimited"),
            "pids " + (limits.Pids > 0 ? limits.Pids.ToString(CultureInfo.InvariantCulture) : "unlimited"),
            "time " + (limits.TimeSeconds > 0 ? Units.FormatSeconds(limits.TimeSeconds) : "unlimited"),
            "disk " + (limits.DiskBytes > 0 ? Units.FormatBytes(limits.DiskBytes) : "unlimited"),
        };
        return string.Join(", ", parts);
    }

    private static string When(Timestamp? time, DateTimeOffset now) =>
        time is null ? "-" : $"{JsonOutput.Rfc3339(time)} ({Ago(time, now)})";

    private static string Ago(Timestamp time, DateTimeOffset now)
    {
        var seconds = (now - time.ToDateTimeOffset()).TotalSeconds;
        return seconds < 1 ? "just now" : Units.FormatSeconds(Math.Floor(seconds)) + " ago";
    }

    public static string SignalName(int signal) => SignalNames.Of(signal);
}
