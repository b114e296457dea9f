using System.Runtime.InteropServices;
using Lcluster.Daemon.Hosting;
using Lcluster.Runtime;
using Lcluster.Shared;

namespace Lcluster.Daemon;

internal static class Program
{
    /// <summary>The exit code of a command line lclusterd cannot act on, as for lclusterc.</summary>
    private const int ExitUsage = 2;

    private static async Task<int> Main(string[] args)
    {
        // A container's init is this same binary: nothing heavy may run before it execs the job.
        if (args.Length > 0 && args[0] == ContainerInit.Verb)
            return ContainerInit.Run(args);

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
        catch (OperationCanceledException)
        {
            return 0;
        }
    }
}
