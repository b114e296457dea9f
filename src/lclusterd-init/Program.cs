using Lcluster.Runtime.Processes;

namespace Lcluster.Init;

/// <summary>
/// The container init (docs/runtime.md): lclusterd writes this program into its data dir at start and runs it as
/// PID 1 of every container it builds. It has no other use; run by hand, it refuses.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ContainerInit.Verb)
            return ContainerInit.Run(args);
        Console.Error.WriteLine($"lclusterd-init: only runs as a container's init ({ContainerInit.Verb}), started by lclusterd");
        return 2;
    }
}
