using System.Diagnostics;
using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>
/// A host process that dies with the daemon (its embedded etcd): started through the daemon's own binary in a
/// hidden mode that asks for SIGKILL when its parent dies (PR_SET_PDEATHSIG), checks that the parent is still the
/// daemon (it may have died in between), and execs the program. The kernel sends that signal when the *thread* that
/// forked the child ends, so every start goes through one long-lived thread of its own.
/// </summary>
public static class BoundChild
{
    /// <summary>The hidden first argument of the mode: `lclusterd __lcluster-bound PARENT-PID PROGRAM ARGS...`.</summary>
    public const string Verb = "__lcluster-bound";

    private const int ExecFailedExitCode = 127;
    private static readonly Lazy<Starter> Thread = new(() => new Starter());

    /// <summary>
    /// Starts <paramref name="program"/> with <paramref name="arguments"/> as a child bound to this process, from
    /// the starter thread, in <paramref name="workingDirectory"/> (null: this process's). Its pid is the program's:
    /// the mode execs in place.
    /// </summary>
    public static Task<Process> StartAsync(string program, IReadOnlyList<string> arguments, string? workingDirectory = null)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the path of this program (needed to bind a child to it)");
        var info = new ProcessStartInfo(self) { UseShellExecute = false, WorkingDirectory = workingDirectory ?? "" };
        info.ArgumentList.Add(Verb);
        info.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(program);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        return Thread.Value.StartAsync(info);
    }

    /// <summary>The mode itself, first thing in Main when <c>args[0] == Verb</c>: returns only when it cannot exec.</summary>
    public static unsafe int Run(string[] args)
    {
        if (args.Length < 3 || !int.TryParse(args[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parent))
        {
            Console.Error.WriteLine($"{Verb} is internal: the daemon starts its embedded etcd through it");
            return 2;
        }
        if (Libc.Prctl(Libc.PR_SET_PDEATHSIG, Libc.SIGKILL, 0, 0, 0) != 0)
        {
            Console.Error.WriteLine($"{Verb}: prctl PR_SET_PDEATHSIG: errno {Errno.Last}");
            return ExecFailedExitCode;
        }
        if (Libc.Getppid() != parent)
            return ExecFailedExitCode; // the daemon died before the signal was asked for: nothing to run for
        // What it creates is its owner's alone (etcd's sockets, log and data), whatever umask the daemon was started with.
        Libc.Umask(0x3F); // 077
        var program = Encoding.UTF8.GetBytes(args[2] + "\0");
        var argv = Processes.ExecPreparation.NativeArray(args[2..]);
        fixed (byte* path = program)
            Libc.Execv(path, argv);
        Console.Error.WriteLine($"{Verb}: execv {args[2]}: errno {Errno.Last}");
        return ExecFailedExitCode;
    }

    /// <summary>One thread that lives as long as the process and forks every bound child.</summary>
    private sealed class Starter
    {
        private readonly System.Collections.Concurrent.BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> _work = new();

        public Starter()
        {
            new System.Threading.Thread(Loop) { IsBackground = true, Name = "lcluster bound-child starter" }.Start();
        }

        public Task<Process> StartAsync(ProcessStartInfo info)
        {
            var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add((info, started));
            return started.Task;
        }

        private void Loop()
        {
            foreach (var (info, started) in _work.GetConsumingEnumerable())
            {
                try
                {
                    started.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}"));
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
                {
                    started.SetException(e);
                }
            }
        }
    }
}
