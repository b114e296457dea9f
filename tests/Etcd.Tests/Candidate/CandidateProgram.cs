namespace Lcluster.Etcd.Tests;

/// <summary>
/// The test assembly doubles as a separate candidate process for election tests:
/// <c>dotnet Etcd.Tests.dll candidate ENDPOINT NAME VALUE TTL_SECONDS</c> campaigns with its own
/// session, prints "leader KEY" once it leads, and holds on until killed.
/// </summary>
internal static class CandidateProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 5 || args[0] != "candidate" || !int.TryParse(args[4], out var ttl))
        {
            await Console.Error.WriteLineAsync("usage: Etcd.Tests candidate ENDPOINT NAME VALUE TTL_SECONDS (the test runner does not use this entry point)");
            return 2;
        }
        await using var client = EtcdClient.Connect([args[1]]);
        await using var session = await Session.StartAsync(client, TimeSpan.FromSeconds(ttl));
        var election = new Election(session, args[2]);
        await election.CampaignAsync(args[3]);
        Console.WriteLine($"leader {election.Key}");
        await Task.Delay(Timeout.Infinite, session.Lost);
        return 0;
    }
}
