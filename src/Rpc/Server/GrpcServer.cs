using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lcluster.Rpc;

/// <summary>gRPC services on Kestrel: an HTTP/2-only endpoint, cleartext (h2c) or TLS.</summary>
public sealed class GrpcServer : IAsyncDisposable
{
    private readonly GrpcServerOptions _options;
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private IPEndPoint? _bound;
    private int _state;

    public GrpcServer(GrpcServerOptions options, params GrpcService[] services)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        foreach (var service in services)
        {
            foreach (var (path, method) in service.Methods)
            {
                if (!_methods.TryAdd(path, method))
                    throw new ArgumentException($"two services define {path}", nameof(services));
            }
        }
    }

    /// <summary>The address really listened on (the chosen port when the options said 0).</summary>
    public IPEndPoint BoundEndpoint => _bound ?? throw new InvalidOperationException("the server has not started: call StartAsync first");

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
            throw new InvalidOperationException("a GrpcServer starts only once");
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        if (_options.Log is { } log)
            builder.Logging.AddProvider(new LogForwarder(log));
        // The daemon owns signals and shutdown; the host must not hook Ctrl+C/SIGTERM.
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(Configure);
        var app = builder.Build();
        app.Run(new ServerDispatcher(_methods, _options, _stopping.Token).HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException($"cannot listen for gRPC on {_options.Endpoint}: {ex.Message}", ex);
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _bound = new IPEndPoint(_options.Endpoint.Address, new Uri(address).Port);
    }

    /// <summary>Stops accepting calls; in-flight calls end on their own or are cancelled when the token fires.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_app is null || Interlocked.Exchange(ref _state, 2) == 2)
            return;
        using (cancellationToken.Register(_stopping.Cancel))
            await _app.StopAsync(cancellationToken);
        await _app.DisposeAsync();
    }

    /// <summary>Stops at once: in-flight calls are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true));
        _stopping.Dispose();
    }

    private void Configure(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;
        // Streams may sit idle for hours (watches, follow): no minimum data rate, no body cap.
        kestrel.Limits.MinRequestBodyDataRate = null;
        kestrel.Limits.MinResponseDataRate = null;
        kestrel.Limits.MaxRequestBodySize = null;
        // Finds clients that vanished without closing, so their idle streams are freed.
        kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        kestrel.Listen(_options.Endpoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (_options.Certificate is { } certificate)
                listen.UseHttps(certificate);
        });
    }

    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
