using Lcluster.Runtime;

namespace Lcluster.InitHost;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ContainerInit.Verb)
            return ContainerInit.Run(args);
        Console.Error.WriteLine($"Lcluster.InitHost: only runs as a container init ({ContainerInit.Verb}); it is started by Sandbox");
        return 2;
    }
}
