using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Lcluster.Runtime.Cgroups;

namespace Lcluster.Runtime.Host;

/// <summary>
/// One process per daemon that kills the daemon's containers when the daemon dies, however it dies. Each container's
/// PID 1 asks for SIGKILL at the daemon's death (<c>PR_SET_PDEATHSIG</c>), but PID 1 is the job's own command: it can
/// clear that signal (<c>prctl</c>), and the kernel clears it when PID 1 changes its user ids (<c>exec su …</c>).
/// The guard is outside every container, so nothing a job does reaches it. It is the daemon's binary in a hidden mode,
/// its stdin a pipe whose other end only the daemon holds (close-on-exec: no other child inherits it): when the daemon
/// is gone the kernel closes that end, the guard reads EOF, SIGKILLs every process in the job cgroups below
/// <see cref="SandboxOptions.CgroupParent"/> that existed then, and exits. What is left of them (cgroups, job
/// directories) the next daemon reaps, as before. Cost: one process per node, none per container.
/// <para>
/// A daemon that is alive but stopped (SIGSTOP) or hung closes nothing, and its lease runs out while its containers
/// run on. So the daemon also writes the guard a deadline now and then (<see cref="Handle.Extend"/>): the moment, on
/// the machine's monotonic clock, past which its jobs must be dead unless it says otherwise — its last renewal of the
/// lease etcd confirmed, plus its fence timeout, plus a margin. A daemon that runs kills its own jobs at its fence
/// timeout first; one that does not run is fenced by the guard, still before a prime may start a retry elsewhere.
/// </para>
/// </summary>
public static class ContainerGuard
{
    /// <summary>The hidden first argument of the mode: `lclusterd __lcluster-guard CGROUP-ROOT CGROUP-PARENT`.</summary>
    public const string Verb = "__lcluster-guard";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts the guard of <paramref name="options"/>'s containers from this process's own binary. Keep the returned
    /// handle for as long as the containers may run; disposing it lets the guard go, after it killed what is left.
    /// </summary>
    public static Handle Start(SandboxOptions options, params string[] context)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the path of this program (needed to start its container guard)");
        var info = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add(Verb);
        info.ArgumentList.Add(options.CgroupRoot);
        info.ArgumentList.Add(options.CgroupParent);
        foreach (var argument in context)
            info.ArgumentList.Add(argument);
        return new Handle(Process.Start(info) ?? throw new InvalidOperationException($"could not start {self} {Verb}"));
    }

    /// <summary>The daemon's end of its guard: the process, and the pipe deadlines are written to.</summary>
    public sealed class Handle(Process guard) : IDisposable
    {
        private readonly byte[] _message = new byte[sizeof(long)];
        private long _sent = long.MinValue;
        private bool _broken;

        public int Pid => guard.Id;

        /// <summary>
        /// Tells the guard to kill the containers at <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>
        /// milliseconds) unless a later deadline follows. False when the guard cannot be told (it is gone): the first
        /// time only, so the caller says so once.
        /// </summary>
        public bool Extend(long deadline)
        {
            lock (_message)
            {
                if (_broken || deadline == _sent)
                    return true;
                BinaryPrimitives.WriteInt64LittleEndian(_message, deadline);
                try
                {
                    guard.StandardInput.BaseStream.Write(_message); // 8 bytes: one atomic pipe write
                    guard.StandardInput.BaseStream.Flush();
                    _sent = deadline;
                    return true;
                }
                catch (IOException)
                {
                    _broken = true;
                    return false;
                }
            }
        }

        public void Dispose() => guard.Dispose();
    }

    /// <summary>
    /// The mode itself, first thing in Main when <c>args[0] == Verb</c>. <paramref name="over"/> is told, with the
    /// context <see cref="Start"/> was given, of each job whose container the guard saw over: whether it killed its
    /// processes (told once they are all gone) or found none left (a job that ended while its daemon was stopped has
    /// its end recorded only when the daemon runs again; this says it was over by now).
    /// </summary>
    public static int Run(string[] args, Action<IReadOnlyList<string>, string, bool>? over = null)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine($"{Verb} is internal: the daemon starts it to kill its containers when it dies");
            return 2;
        }
        // A SIGTERM meant for the daemon (a terminal's, a service manager's) must not stop the guard first.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        var tree = CgroupTrees.ForHost(CgroupFs.Kernel, args[1], args[2]);
        var context = args[3..];
        Action<string, bool> ended = over is null ? (_, _) => { } : (job, killedNow) => Tell(() => over(context, job, killedNow));
        var daemon = new DaemonWatch(Console.OpenStandardInput());
        while (daemon.NextDeadline() is { } passed)
        {
            var (fenced, still) = KillAll(tree, ended);
            if (fenced > 0)
                Console.Error.WriteLine($"lclusterd guard: the daemon has not confirmed its lease in time (stopped or hung?): " +
                    $"killed the processes of {fenced} container(s) below {args[2]}, {Environment.TickCount64 - passed} ms past its deadline" +
                    (still.Count > 0 ? $"; still alive after {Patience.TotalSeconds:0} s: {string.Join(", ", still)}" : ""));
        }
        var (count, left) = KillAll(tree, ended);
        if (count > 0)
            Console.Error.WriteLine($"lclusterd guard: the daemon is gone; killed the processes of {count} container(s) below {args[2]}" +
                (left.Count > 0 ? $"; still alive after {Patience.TotalSeconds:0} s: {string.Join(", ", left)}" : ""));
        return left.Count == 0 ? 0 : 1;
    }

    /// <summary>The guard's end of the pipe: the deadlines the daemon writes, read on a thread of their own, and its end.</summary>
    private sealed class DaemonWatch
    {
        private readonly object _lock = new();
        private long? _deadline;
        private bool _gone;

        public DaemonWatch(Stream pipe) => new Thread(() => Read(pipe)) { IsBackground = true, Name = "daemon pipe" }.Start();

        /// <summary>
        /// Blocks until the deadline the daemon last wrote has passed (returns it; the next call waits for a later
        /// one) or the daemon is gone (returns null).
        /// </summary>
        public long? NextDeadline()
        {
            lock (_lock)
            {
                while (true)
                {
                    if (_gone)
                        return null;
                    var now = Environment.TickCount64;
                    if (_deadline is { } deadline && deadline <= now)
                    {
                        _deadline = null;
                        return deadline;
                    }
                    Monitor.Wait(_lock, _deadline is { } next ? TimeSpan.FromMilliseconds(Math.Min(next - now, int.MaxValue)) : Timeout.InfiniteTimeSpan);
                }
            }
        }

        private void Read(Stream pipe)
        {
            var message = new byte[sizeof(long)];
            try
            {
                while (true)
                {
                    pipe.ReadExactly(message);
                    lock (_lock)
                    {
                        _deadline = BinaryPrimitives.ReadInt64LittleEndian(message);
                        Monitor.PulseAll(_lock);
                    }
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                // The daemon is gone (its end closed with it).
            }
            lock (_lock)
            {
                _gone = true;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>A report that fails is said on stderr: the killing goes on.</summary>
    private static void Tell(Action report)
    {
        try
        {
            report();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"lclusterd guard: {e.Message}");
        }
    }

    /// <summary>
    /// SIGKILLs the processes of every job cgroup in the tree until none is left (or the patience ends): how many had
    /// any, and which are left. <paramref name="ended"/> is told of each job that had processes once they are gone
    /// (true), and of each that had none at the first look (false): either way its container is over.
    /// </summary>
    internal static (int Killed, IReadOnlyList<string> Left) KillAll(ICgroupTree tree, Action<string, bool>? ended = null)
    {
        var jobs = tree.ListJobs().Where(id => SandboxValidation.JobId().IsMatch(id)).Select(tree.Open).ToList();
        var killed = new HashSet<string>(StringComparer.Ordinal);
        var deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds; // monotonic: a clock step must not cut it short
        while (jobs.Count > 0 && Environment.TickCount64 < deadline)
        {
            foreach (var job in jobs.ToList())
            {
                try
                {
                    if (job.Processes().Count == 0)
                    {
                        jobs.Remove(job);
                        ended?.Invoke(job.JobId, killed.Contains(job.JobId));
                        continue;
                    }
                    killed.Add(job.JobId);
                    job.KillAll();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    jobs.Remove(job); // removed meanwhile (a daemon reaping it), or not ours to touch: nothing more to do
                }
            }
            if (jobs.Count > 0)
                Thread.Sleep(10);
        }
        return (killed.Count, [.. jobs.Select(j => j.JobId)]);
    }
}
