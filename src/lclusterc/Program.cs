namespace Lcluster.Client;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("lclusterc: the client is not implemented yet");
        return 1;
    }
}
