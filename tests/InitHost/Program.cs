using Lcluster.Runtime.Processes;
using Lcluster.Runtime;

namespace Lcluster.InitHost;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ContainerInit.Verb)
            return ContainerInit.Run(args);
        if (args.Length == 5 && args[0] == CrashTestDaemon.Verb)
            return await CrashTestDaemon.RunAsync(args[1], args[2], args[3], args[4]);
        Console.Error.WriteLine($"Lcluster.InitHost: only runs as a container init ({ContainerInit.Verb}), started by Sandbox");
        return 2;
    }
}
