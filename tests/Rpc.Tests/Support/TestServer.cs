using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Rpc.Tests.Support;

/// <summary>A real GrpcServer on a free loopback port, with a channel to it and the lines it logged.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _log = new();

    private TestServer(GrpcServer server, GrpcChannel channel)
    {
        Server = server;
        Channel = channel;
    }

    public GrpcServer Server { get; }
    public GrpcChannel Channel { get; private set; }
    public string Address => $"127.0.0.1:{Server.BoundEndpoint.Port}";
    public IReadOnlyCollection<string> Log => _log;

    public static async Task<TestServer> StartAsync(params GrpcService[] services) =>
        await StartAsync(null, null, services);

    public static async Task<TestServer> StartAsync(X509Certificate2? certificate, GrpcChannelOptions? channelOptions,
        params GrpcService[] services)
    {
        ConcurrentQueue<string>? log = null;
        var server = new GrpcServer(new GrpcServerOptions
        {
            Endpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Certificate = certificate,
            Log = line => log!.Enqueue(line),
        }, services);
        await server.StartAsync();
        var scheme = certificate is null ? "http" : "https";
        var channel = GrpcChannel.ForAddress($"{scheme}://127.0.0.1:{server.BoundEndpoint.Port}", channelOptions);
        var test = new TestServer(server, channel);
        log = test._log;
        return test;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}
