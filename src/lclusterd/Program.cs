using System.Runtime.InteropServices;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Security;
using Lcluster.Runtime.Host;
using Lcluster.Runtime.Processes;
using Lcluster.Runtime;
using Lcluster.Shared;

namespace Lcluster.Daemon;

internal static class Program
{
    /// <summary>The exit code of a command line lclusterd cannot act on, as for lclusterc.</summary>
    private const int ExitUsage = 2;

    /// <summary>`lclusterd ca …`: the cluster's certificates, no daemon.</summary>
    private static int RunCa(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.Out.Write(CaFlags.Usage);
            return 0;
        }
        try
        {
            CaFlags.Run(args, Console.Out);
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"lclusterd ca: {e.Message}");
            Console.Error.WriteLine("Try 'lclusterd ca --help'.");
            return ExitUsage;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"lclusterd ca: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> Main(string[] args)
    {
        // A build that carries no lclusterd-init (Hosting/InitProgram.cs) starts its containers with this binary as their
        // init: nothing heavy may run before it execs the job.
        if (args.Length > 0 && args[0] == ContainerInit.Verb)
            return ContainerInit.Run(args);
        if (args.Length > 0 && args[0] == BoundChild.Verb)
            return BoundChild.Run(args);
        if (args.Length > 0 && args[0] == ContainerGuard.Verb)
            return ContainerGuard.Run(args, (context, job, killed) =>
            {
                if (context is [var log, var node]) // the daemon's container log, and its node's name
                    ContainerLog.GuardSawOver(log, node, job, killed);
            });
        if (args.Length > 0 && args[0] == CaFlags.Verb)
            return RunCa(args[1..]);

        DaemonOptions? parsed;
        try
        {
            parsed = DaemonFlags.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"lclusterd: {e.Message}");
            Console.Error.WriteLine("Try 'lclusterd --help'.");
            return ExitUsage;
        }
        if (parsed is not { } options)
        {
            Console.Out.Write(DaemonFlags.Usage());
            return 0;
        }

        var log = Log.Console;
        if (options.Ignored is { } ignored)
            log.Warn(ignored);
        try
        {
            if (!Environment.IsPrivilegedProcess)
                throw new DaemonStartException("must run as root: it builds containers (namespaces, mounts, cgroups); try sudo");
            if (options.NetworkNamespace is { } ns)
                NetworkNamespace.Enter(ns, args);
            Startup.CheckRootFs(options.RootFs);
            options = options with { RootFs = Path.GetFullPath(options.RootFs), DataDir = Path.GetFullPath(options.DataDir) };
            using var dataDirLock = Startup.LockDataDir(options.DataDir);
            var name = Startup.NodeName(options);

            using var stop = new CancellationTokenSource();
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            return await new Hosting.Daemon(options, name, log).RunAsync(stop.Token);

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                if (!stop.IsCancellationRequested)
                    log.Info($"received {context.Signal}; shutting down");
                stop.Cancel();
            }
        }
        catch (DaemonStartException e)
        {
            Console.Error.WriteLine($"lclusterd: {e.Message}");
            return 1;
        }
        catch (Etcd.EtcdException e)
        {
            // etcd refused a step of the start (registering, say): a clear exit, not a crash.
            Console.Error.WriteLine($"lclusterd: could not start: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
    }
}
