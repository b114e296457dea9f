using System.IO.Pipes;
using System.Text;
using Lcluster.Runtime.Native;
using Lcluster.Runtime.Security;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// The daemon's handle on one spawned init: its pid and exit, the control socket
/// it waits on, the report pipe it answers on, and the read ends of the job's
/// stdout and stderr (pipes read asynchronously through the runtime's epoll loop).
/// In a user namespace it holds its block of host ids until it has been reaped.
/// </summary>
internal sealed class InitProcess : IAsyncDisposable
{
    private const int MaxReportBytes = 64 << 10;
    private readonly PipeStream _control;
    private readonly PipeStream _report;

    public InitProcess(int pid, int controlSocket, int reportRead, int stdoutRead, int stderrRead, IdRanges.IdLease? ids)
    {
        Pid = pid;
        Ids = ids?.Range;
        Exit = ReapAsync(pid, ids);
        _control = Wrap(controlSocket, PipeDirection.Out);
        _report = Wrap(reportRead, PipeDirection.In);
        Stdout = Wrap(stdoutRead, PipeDirection.In);
        Stderr = Wrap(stderrRead, PipeDirection.In);
    }

    public int Pid { get; }

    /// <summary>The host ids its user namespace maps 0.. onto; null when it runs without one (as host root).</summary>
    public HostIdRange? Ids { get; }

    public Task<ExitStatus> Exit { get; }
    public PipeStream Stdout { get; }
    public PipeStream Stderr { get; }

    /// <summary>
    /// CPU priority of the init: a pooled one starts in the background at <see cref="BackgroundNice"/>;
    /// a taken one is set back to 0 before it builds the container (the job inherits it). Both its
    /// main thread (later threads inherit it) and its session's autogroup, which is what counts
    /// against other sessions when the kernel groups by session. False when the init is gone.
    /// </summary>
    public bool SetNice(int nice)
    {
        if (Libc.Setpriority(Libc.PRIO_PROCESS, Pid, nice) == -1)
            return Errno.Last == Errno.ESRCH ? false : throw Errno.Fail("setpriority", $"init pid {Pid}");
        var autogroup = $"/proc/{Pid}/autogroup";
        try
        {
            File.WriteAllText(autogroup, nice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (FileNotFoundException)
        {
            // no CONFIG_SCHED_AUTOGROUP: the thread's nice is all there is
        }
        catch (DirectoryNotFoundException)
        {
            return false; // exited meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException($"write {nice} to {autogroup}: permission denied (the daemon needs CAP_SYS_NICE)");
        }
        return true;
    }

    public const int BackgroundNice = 10;

    /// <summary>Null once the init said it is ready; else what it reported before it ended (empty when nothing).</summary>
    public async Task<string?> WaitReadyAsync(CancellationToken ct)
    {
        var tag = new byte[1];
        var n = await _report.ReadAsync(tag, ct).ConfigureAwait(false);
        if (n == 1 && tag[0] == InitReport.Ready)
            return null;
        var rest = n == 1 ? await ReadToEndAsync(ct).ConfigureAwait(false) : [];
        return n == 1 && tag[0] == InitReport.Failed ? Encoding.UTF8.GetString(rest) : "";
    }

    /// <summary>
    /// What the init reads before it says it is ready: the seccomp program, framed as compiled. False when the init
    /// closed its end first (it ended at once: not an init, or an early failure); then <see cref="WaitReadyAsync"/>
    /// hears why, from its report and its end, instead of the caller hearing only "broken pipe".
    /// </summary>
    public async Task<bool> TrySendSeccompAsync(byte[] frame, CancellationToken ct)
    {
        try
        {
            await _control.WriteAsync(frame, ct).ConfigureAwait(false);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Hands the init its job, after the fds an init in a user namespace takes first (its idmapped rootfs mount and
    /// its job directory); the socket is closed after it, the init reads no more.
    /// </summary>
    public async Task SendAsync(InitMessage message, int[]? fds, CancellationToken ct)
    {
        if (fds is not null)
            FdPassing.Send(_control.SafePipeHandle, fds, "init control socket");
        await _control.WriteAsync(message.Encode(), ct).ConfigureAwait(false);
        await _control.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until the init exec'd the job or failed: null on success, else why it could not start.</summary>
    public async Task<string?> WaitExecAsync(CancellationToken ct)
    {
        var bytes = await ReadToEndAsync(ct).ConfigureAwait(false);
        if (bytes.Length > 0 && bytes[0] == InitReport.Failed)
            return Encoding.UTF8.GetString(bytes, 1, bytes.Length - 1);
        if (bytes.Length == 1 && bytes[0] == InitReport.Exec)
            return null;
        if (bytes.Length > 1 && bytes[0] == InitReport.Exec && bytes[1] == InitReport.Failed)
            return Encoding.UTF8.GetString(bytes, 2, bytes.Length - 2);
        var status = await Exit.WaitAsync(TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return $"the container's init died before exec ({status})";
    }

    private async Task<byte[]> ReadToEndAsync(CancellationToken ct)
    {
        using var received = new MemoryStream();
        var buffer = new byte[512];
        int n;
        while ((n = await _report.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0 && received.Length < MaxReportBytes)
            received.Write(buffer, 0, n);
        return received.ToArray();
    }

    /// <summary>Closes the control pipe: a waiting init sees EOF and exits.</summary>
    public async ValueTask DisposeAsync()
    {
        await _control.DisposeAsync().ConfigureAwait(false);
        await _report.DisposeAsync().ConfigureAwait(false);
        await Stdout.DisposeAsync().ConfigureAwait(false);
        await Stderr.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Completes once the init is reaped: its whole PID namespace is gone then, so its ids can serve another.</summary>
    private static async Task<ExitStatus> ReapAsync(int pid, IdRanges.IdLease? ids)
    {
        var status = await ChildExits.WatchAsync(pid).ConfigureAwait(false);
        ids?.Dispose();
        return status;
    }

    private static PipeStream Wrap(int fd, PipeDirection direction) =>
        new AnonymousPipeClientStream(direction, new SafePipeHandle(fd, ownsHandle: true));
}
