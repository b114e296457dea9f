namespace Lcluster.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("bench: no benchmarks yet");
        return 1;
    }
}
