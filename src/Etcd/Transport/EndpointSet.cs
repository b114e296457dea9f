using Grpc.Net.Client;
using Lcluster.Shared;

namespace Lcluster.Etcd.Transport;

/// <summary>
/// The etcd members to talk to, one channel each, and which one is preferred now: calls stick
/// to the last endpoint that answered and move to the next when it stops answering.
/// </summary>
internal sealed class EndpointSet : IDisposable
{
    private readonly Endpoint[] _endpoints;
    private int _preferred;

    public EndpointSet(IReadOnlyList<string> addresses, EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
            throw new ArgumentException("no etcd endpoint given: pass at least one, e.g. http://127.0.0.1:2379", nameof(addresses));
        var endpoints = new List<Endpoint>();
        try
        {
            foreach (var address in addresses)
            {
                var normalized = Normalize(address);
                endpoints.Add(new Endpoint(endpoints.Count, normalized, Open(normalized, options)));
            }
        }
        catch
        {
            endpoints.ForEach(e => e.Channel.Dispose());
            throw;
        }
        _endpoints = [.. endpoints];
        Addresses = [.. endpoints.Select(e => e.Address)];
    }

    public IReadOnlyList<string> Addresses { get; }

    public int Count => _endpoints.Length;

    /// <summary>Every endpoint once, the preferred one first.</summary>
    public IEnumerable<Endpoint> InTryOrder()
    {
        var first = Volatile.Read(ref _preferred);
        for (var i = 0; i < _endpoints.Length; i++)
            yield return _endpoints[(first + i) % _endpoints.Length];
    }

    public void Answered(Endpoint endpoint) => Volatile.Write(ref _preferred, endpoint.Index);

    /// <summary>Moves the preference past an endpoint that failed, unless another caller already did.</summary>
    public void Failed(Endpoint endpoint) =>
        Interlocked.CompareExchange(ref _preferred, (endpoint.Index + 1) % _endpoints.Length, endpoint.Index);

    public void Dispose()
    {
        foreach (var endpoint in _endpoints)
            endpoint.Channel.Dispose();
    }

    /// <summary>
    /// A channel with no retry policy (Grpc.Net.Client retries nothing unless a service config asks it to):
    /// a write whose answer was lost must never be sent again behind the caller's back.
    /// </summary>
    private static GrpcChannel Open(string address, EtcdClientOptions options) =>
        GrpcChannel.ForAddress(address.StartsWith(UnixScheme, StringComparison.Ordinal) ? "http://localhost" : address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = options.Tls ?? new System.Net.Security.SslClientAuthenticationOptions(),
                ConnectCallback = address.StartsWith(UnixScheme, StringComparison.Ordinal) ? UnixSocketConnector.To(address[UnixScheme.Length..]) : options.ConnectCallback,
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = options.ConnectTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                // Finds a dead peer under an idle stream; etcd tolerates pings every 5 s or slower.
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            },
            ServiceConfig = null,
            // Any message etcd sends, as etcd's Go client takes (math.MaxInt32): a watch catching up sends up to a
            // thousand revisions in one response, and a range reply may be large; gRPC's default 4 MiB would refuse them.
            MaxReceiveMessageSize = int.MaxValue,
            DisposeHttpClient = true,
        });

    private const string UnixScheme = "unix://";

    private static string Normalize(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
            throw new ArgumentException("an etcd endpoint is empty: use host:port or http://host:port", nameof(address));
        if (address.StartsWith(UnixScheme, StringComparison.Ordinal))
        {
            var path = address[UnixScheme.Length..];
            if (!path.StartsWith('/') || System.Text.Encoding.UTF8.GetByteCount(path) > EtcdClient.MaxUnixSocketPathBytes || path.Contains('\0', StringComparison.Ordinal))
                throw new ArgumentException($"'{address}' is not an etcd endpoint: a Unix socket is unix:///ABSOLUTE/PATH, at most {EtcdClient.MaxUnixSocketPathBytes} bytes", nameof(address));
            return address;
        }
        var trimmed = address.Trim().TrimEnd('/');
        var text = trimmed.Contains("://", StringComparison.Ordinal) ? trimmed : "http://" + trimmed;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            throw new ArgumentException($"'{address}' is not an etcd endpoint: use host:port, http://host:port, https://host:port or unix:///path", nameof(address));
        return text;
    }
}
