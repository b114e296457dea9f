using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Node;

/// <summary>
/// The node's own record of what it ran: DATA_DIR/containers.log, one line per container start and
/// end (and per daemon start and leftover reaped), appended through an O_APPEND descriptor with one
/// write(2) per line, never rewritten, never fsynced (docs/failures.md, "The container log"). Lines are
/// space-separated key=value fields after the event name, e.g.
/// <c>start job=ID attempt=2 incarnation=7e9c… node=n1 wall=2026-…Z mono=1234.567890 pid=4242</c>.
/// The file is root's only (0600) in the root-only data dir.
/// </summary>
internal sealed class ContainerLog : IDisposable
{
    public const string FileName = "containers.log";

    private readonly AppendOnlyFile _file;
    private readonly string _node;

    private ContainerLog(AppendOnlyFile file, string node)
    {
        _file = file;
        _node = node;
    }

    public string Path => _file.Path;

    /// <summary>Opens (creating, 0600) the node's container log for appending.</summary>
    public static ContainerLog Open(string dataDir, string node)
    {
        return new ContainerLog(AppendOnlyFile.Open(System.IO.Path.Combine(dataDir, FileName)), node);
    }

    /// <summary>This daemon process started (its pid): containers of the previous one are gone or leftovers.</summary>
    public void DaemonStarted(long now, DateTimeOffset wall) =>
        Append($"daemon-start node={_node} wall={Wall(wall)} mono={Mono(now)} pid={Environment.ProcessId}");

    /// <summary>
    /// A container of the job started: <paramref name="wall"/> and <paramref name="mono"/> (a Stopwatch timestamp) are taken before
    /// the start began, so the interval this line opens covers the whole run.
    /// </summary>
    public void Started(string job, int attempt, long incarnation, int pid, DateTimeOffset wall, long mono) =>
        Append($"start job={job} attempt={attempt} incarnation={incarnation:x} node={_node} wall={Wall(wall)} mono={Mono(mono)} pid={pid}");

    /// <summary>The job's container has ended (its every process is gone); taken after it ended.</summary>
    public void Ended(string job, int attempt, long incarnation, int pid, int? exitCode, int signal) =>
        Append($"end job={job} attempt={attempt} incarnation={incarnation:x} node={_node} wall={Wall(DateTimeOffset.UtcNow)} mono={Mono(Stopwatch.GetTimestamp())} pid={pid} " +
               $"exit={(exitCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "-")} signal={signal}");

    /// <summary>A container of an earlier daemon process was found and killed at start-up: it ended no later than now.</summary>
    public void LeftoverReaped(string job) =>
        Append($"leftover job={job} node={_node} wall={Wall(DateTimeOffset.UtcNow)} mono={Mono(Stopwatch.GetTimestamp())} pid={Environment.ProcessId}");

    private static string Wall(DateTimeOffset wall) => wall.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);

    /// <summary>CLOCK_MONOTONIC in seconds (Stopwatch's timestamp): comparable between the nodes of one machine, immune to clock steps.</summary>
    private static string Mono(long timestamp) => ((double)timestamp / Stopwatch.Frequency).ToString("F6", CultureInfo.InvariantCulture);

    // One write(2) on an O_APPEND descriptor: the kernel puts the whole line at the end, whatever other threads write.
    private void Append(string line) => _file.Append(Encoding.UTF8.GetBytes(line + "\n"));

    public void Dispose() => _file.Dispose();
}
