using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lcluster.Rpc.Tests.Support;

/// <summary>
/// A bare HTTP/2 server whose responses a test writes byte by byte, to show the client meeting
/// what a well-behaved gRPC server never sends (truncated frames, odd splits, missing status).
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RawPeer(WebApplication app, int port)
    {
        _app = app;
        Address = $"127.0.0.1:{port}";
    }

    public string Address { get; }

    public static async Task<RawPeer> StartAsync(RequestDelegate respond)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.Run(respond);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RawPeer(app, new Uri(address).Port);
    }

    /// <summary>Starts a gRPC response: 200 and the gRPC content type.</summary>
    public static async Task BeginGrpcAsync(HttpContext http)
    {
        http.Response.ContentType = "application/grpc";
        await http.Response.StartAsync();
    }

    public static async Task WriteAndFlushAsync(HttpContext http, byte[] bytes)
    {
        await http.Response.Body.WriteAsync(bytes);
        await http.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }
}
