using Lcluster.Etcd.Concurrency;
using Lcluster.TestSupport;

namespace Lcluster.Etcd.Tests;

/// <summary>
/// The test assembly doubles as a separate process for tests that need one to kill
/// (the test runner does not use this entry point):
/// <c>dotnet Etcd.Tests.dll candidate ENDPOINT NAME VALUE TTL_SECONDS</c> campaigns with its own
/// session, prints "leader KEY" once it leads, and holds on until killed;
/// <c>dotnet Etcd.Tests.dll etcd</c> starts an EtcdServer, prints "etcd PID DIR", and holds on.
/// </summary>
internal static class HelperProcess
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["candidate", var endpoint, var name, var value, var ttlText] && int.TryParse(ttlText, out var ttl))
        {
            await using var client = EtcdClient.Connect([endpoint]);
            await using var session = await Session.StartAsync(client, TimeSpan.FromSeconds(ttl));
            var election = new Election(session, name);
            await election.CampaignAsync(value);
            Console.WriteLine($"leader {election.Key}");
            await Task.Delay(Timeout.Infinite, session.Lost);
            return 0;
        }
        if (args is ["etcd"])
        {
            await using var etcd = await EtcdServer.StartNewAsync();
            Console.WriteLine($"etcd {etcd.Pid} {etcd.Directory}");
            await Task.Delay(Timeout.Infinite);
            return 0;
        }
        await Console.Error.WriteLineAsync("usage: Etcd.Tests candidate ENDPOINT NAME VALUE TTL_SECONDS | Etcd.Tests etcd");
        return 2;
    }
}
