using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Daemon.Node;

/// <summary>
/// The node's own record of what it ran: DATA_DIR/containers.log, one line per container start and
/// end (and per daemon start and leftover reaped), appended through an O_APPEND descriptor with one
/// write(2) per line, never rewritten, never fsynced (docs/failures.md, "The container log"). Lines are
/// space-separated key=value fields after the event name, e.g.
/// <c>start job=ID attempt=2 incarnation=7e9c… node=n1 wall=2026-…Z mono=1234.567890 pid=4242</c>.
/// The file is root's only (0600) in the root-only data dir.
/// </summary>
internal sealed partial class ContainerLog : IDisposable
{
    public const string FileName = "containers.log";

    private const int OWronly = 0x1, OCreat = 0x40, OAppend = 0x400, OCloexec = 0x80000;
    private const int Mode0600 = 0x180;

    private readonly SafeFileHandle _fd;
    private readonly string _node;

    private ContainerLog(SafeFileHandle fd, string node, string path)
    {
        _fd = fd;
        _node = node;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens (creating, 0600) the node's container log for appending.</summary>
    public static ContainerLog Open(string dataDir, string node)
    {
        var path = System.IO.Path.Combine(dataDir, FileName);
        var fd = open(path, OWronly | OCreat | OAppend | OCloexec, Mode0600);
        if (fd.IsInvalid)
            throw new IOException($"cannot open {path} for appending: errno {Marshal.GetLastPInvokeError()}");
        // A file made by an older daemon (or by hand) is made root's only too.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new ContainerLog(fd, node, path);
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

    private void Append(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        // One write(2) on an O_APPEND descriptor: the kernel puts the whole line at the end, whatever other threads write.
        var written = write(_fd, bytes, bytes.Length);
        if (written != bytes.Length)
            throw new IOException($"appending to {Path} failed: {(written < 0 ? $"errno {Marshal.GetLastPInvokeError()}" : $"{written} of {bytes.Length} bytes written")}");
    }

    public void Dispose() => _fd.Dispose();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(SafeFileHandle fd, byte[] buffer, nint count);
}
