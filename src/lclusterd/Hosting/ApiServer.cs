using System.Net;
using Grpc.HealthCheck;
using Lcluster.Daemon.Api;
using Lcluster.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The node's gRPC endpoint: Kestrel serving lcluster.v1.Lclusterd, grpc.health.v1.Health
/// and server reflection over cleartext HTTP/2. Its start and stop belong to the daemon
/// (no signal handling, no configuration read from the environment).
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiServer(WebApplication app) => _app = app;

    public static ApiServer Create(IPEndPoint listen, LclusterdService service, HealthServiceImpl health, Log log)
    {
        // The empty builder: no configuration files or environment variables read, no default logging; only what is added here.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production });
        builder.Logging.AddProvider(new LogForwarder(log));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, DaemonLifetime>();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(listen, endpoint => endpoint.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = NodeChannel.MaxMessageBytes;
            grpc.MaxSendMessageSize = NodeChannel.MaxMessageBytes;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton(health);
        var app = builder.Build();
        app.MapGrpcService<LclusterdService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        return new ApiServer(app);
    }

    /// <summary>Binds and serves; IOException when the address cannot be bound.</summary>
    public Task StartAsync(CancellationToken ct) => _app.StartAsync(ct);

    /// <summary>Where it listens, as bound (the port the kernel chose for :0).</summary>
    public string BoundAddress =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "";

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
    }

    /// <summary>The daemon handles SIGINT/SIGTERM itself and stops the server in its own order.</summary>
    private sealed class DaemonLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
