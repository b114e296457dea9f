namespace Lcluster.Daemon;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("lclusterd: the daemon is not implemented yet");
        return 1;
    }
}
