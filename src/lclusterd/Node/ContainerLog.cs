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
/// The file is root's only (0600) in the root-only data dir. Past <see cref="RotateBytes"/> it is renamed
/// containers.log.1 (replacing the one before) and a new one begun, so it cannot fill the disk.
/// </summary>
internal sealed class ContainerLog : IDisposable
{
    public const string FileName = "containers.log";

    /// <summary>The name the log before the current one has: only one is kept.</summary>
    public const string PreviousFileName = FileName + ".1";

    /// <summary>The size past which the log is rotated: 64 MiB, about 200,000 jobs' lines.</summary>
    public const long RotateBytes = 64L << 20;

    private readonly Lock _gate = new();
    private readonly string _node;
    private readonly long _rotateAt;
    private AppendOnlyFile _file;
    private long _size;

    private ContainerLog(AppendOnlyFile file, string node, long rotateAt)
    {
        _file = file;
        _node = node;
        _rotateAt = rotateAt;
        _size = new FileInfo(file.Path).Length;
    }

    public string Path => _file.Path;

    /// <summary>Opens (creating, 0600) the node's container log for appending; <paramref name="rotateAt"/> is for tests.</summary>
    public static ContainerLog Open(string dataDir, string node, long rotateAt = RotateBytes)
    {
        return new ContainerLog(AppendOnlyFile.Open(System.IO.Path.Combine(dataDir, FileName)), node, rotateAt);
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

    /// <summary>
    /// The container guard (another process: <paramref name="path"/> opened for this line alone) saw the job's
    /// container over: it killed its processes and saw them gone (<c>guard-kill</c>), or found none left
    /// (<c>guard-over</c>: it ended while its daemon was stopped). Either way it ended no later than now, whatever
    /// line the daemon appends later.
    /// </summary>
    public static void GuardSawOver(string path, string node, string job, bool killed)
    {
        using var file = AppendOnlyFile.Open(path);
        file.Append(Encoding.UTF8.GetBytes(
            $"{(killed ? "guard-kill" : "guard-over")} job={job} node={node} wall={Wall(DateTimeOffset.UtcNow)} mono={Mono(Stopwatch.GetTimestamp())} pid={Environment.ProcessId}\n"));
    }

    private static string Wall(DateTimeOffset wall) => wall.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);

    /// <summary>CLOCK_MONOTONIC in seconds (Stopwatch's timestamp): comparable between the nodes of one machine, immune to clock steps.</summary>
    private static string Mono(long timestamp) => ((double)timestamp / Stopwatch.Frequency).ToString("F6", CultureInfo.InvariantCulture);

    // One write(2) on an O_APPEND descriptor: the kernel puts the whole line at the end, whatever else writes to it.
    // The lock keeps a rotation from closing the descriptor under another thread's write.
    private void Append(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_gate)
        {
            _file.Append(bytes);
            _size += bytes.Length;
            if (_size >= _rotateAt)
                Rotate();
        }
    }

    /// <summary>
    /// The current log becomes containers.log.1 and a new one is begun. A rotation that fails is told once (the
    /// append's IOException) and tried again only after as many bytes more; lines go on to the old file meanwhile.
    /// </summary>
    private void Rotate()
    {
        _size = 0;
        var path = _file.Path;
        try
        {
            // Renamed already when a rotation stopped between the rename and the new file: only the new file is missing.
            if (File.Exists(path))
                File.Move(path, System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, PreviousFileName), overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot rotate {path}: {e.Message}", e);
        }
        var next = AppendOnlyFile.Open(path);
        _file.Dispose();
        _file = next;
    }

    public void Dispose()
    {
        lock (_gate)
            _file.Dispose();
    }
}
