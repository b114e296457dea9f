using Grpc.Health.V1;
using Lcluster.Shared;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>grpc.health.v1 answers SERVING only while the node is registered and etcd confirms its lease.</summary>
public sealed class HealthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Health_turns_not_serving_while_etcd_is_cut_off_and_serving_again_once_it_is_back()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var proxy = new TcpProxy("127.0.0.1", etcd.ClientPort);
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = proxy.Url, NodeName = "health", ExtraArgs = ["--lease-ttl=2s", "--fence-timeout=30s"] });
        using var channel = NodeChannel.Open(daemon.Server);
        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await StatusAsync(health, "lcluster.v1.Lclusterd"));

        proxy.Sever();
        var cut = DateTimeOffset.UtcNow;
        await WaitForAsync(health, HealthCheckResponse.Types.ServingStatus.NotServing, TimeSpan.FromSeconds(15));
        output.WriteLine($"NOT_SERVING {(DateTimeOffset.UtcNow - cut).TotalSeconds:F1} s after etcd was cut off");
        proxy.Restore();
        var back = DateTimeOffset.UtcNow;
        await WaitForAsync(health, HealthCheckResponse.Types.ServingStatus.Serving, TimeSpan.FromSeconds(15));
        output.WriteLine($"SERVING again {(DateTimeOffset.UtcNow - back).TotalSeconds:F1} s after etcd was reachable");
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> StatusAsync(Health.HealthClient health, string service) =>
        (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10))).Status;

    private static async Task WaitForAsync(Health.HealthClient health, HealthCheckResponse.Types.ServingStatus wanted, TimeSpan within)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        HealthCheckResponse.Types.ServingStatus server, api;
        do
        {
            (server, api) = (await StatusAsync(health, ""), await StatusAsync(health, "lcluster.v1.Lclusterd"));
            if (server == wanted && api == wanted)
                return;
            await Task.Delay(100);
        }
        while (DateTimeOffset.UtcNow < deadline);
        throw new Xunit.Sdk.XunitException($"health did not become {wanted} within {within.TotalSeconds} s: server {server}, api {api}");
    }
}
