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
/// </summary>
public static class ContainerGuard
{
    /// <summary>The hidden first argument of the mode: `lclusterd __lcluster-guard CGROUP-ROOT CGROUP-PARENT`.</summary>
    public const string Verb = "__lcluster-guard";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts the guard of <paramref name="options"/>'s containers from this process's own binary. Keep the returned
    /// process (its stdin) for as long as the containers may run; disposing it lets the guard go, after it killed what
    /// is left.
    /// </summary>
    public static Process Start(SandboxOptions options)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell the path of this program (needed to start its container guard)");
        var info = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add(Verb);
        info.ArgumentList.Add(options.CgroupRoot);
        info.ArgumentList.Add(options.CgroupParent);
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {self} {Verb}");
    }

    /// <summary>The mode itself, first thing in Main when <c>args[0] == Verb</c>.</summary>
    public static int Run(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine($"{Verb} is internal: the daemon starts it to kill its containers when it dies");
            return 2;
        }
        // A SIGTERM meant for the daemon (a terminal's, a service manager's) must not stop the guard first.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        using (var daemon = Console.OpenStandardInput())
        {
            var buffer = new byte[64];
            while (daemon.Read(buffer) > 0)
            {
                // Nothing is ever written: only the end matters.
            }
        }
        var (killed, left) = KillAll(CgroupTrees.ForHost(CgroupFs.Kernel, args[1], args[2]));
        if (killed > 0)
            Console.Error.WriteLine($"lclusterd guard: the daemon is gone; killed the processes of {killed} container(s) below {args[2]}" +
                (left.Count > 0 ? $"; still alive after {Patience.TotalSeconds:0} s: {string.Join(", ", left)}" : ""));
        return left.Count == 0 ? 0 : 1;
    }

    /// <summary>SIGKILLs the processes of every job cgroup in the tree until none is left (or the patience ends): how many had any, and which are left.</summary>
    internal static (int Killed, IReadOnlyList<string> Left) KillAll(ICgroupTree tree)
    {
        var jobs = tree.ListJobs().Where(id => SandboxValidation.JobId().IsMatch(id)).Select(tree.Open).ToList();
        var killed = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + Patience;
        while (jobs.Count > 0 && DateTime.UtcNow < deadline)
        {
            foreach (var job in jobs.ToList())
            {
                try
                {
                    if (job.Processes().Count == 0)
                    {
                        jobs.Remove(job);
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
