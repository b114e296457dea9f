using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>
/// Calls to one gRPC target over HTTP/2 (h2c with prior knowledge, or TLS). Thread-safe; opens
/// more connections when one is full; no overall HttpClient timeout, so streams live as long
/// as their call.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private static readonly TransferCodingWithQualityHeaderValue Trailers = new("trailers");

    private readonly Uri _base;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        _base = address;
        Options = options;
        Target = address.IsDefaultPort ? $"{address.Host}:{address.Port}" : address.Authority;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            // Finds a dead peer under an idle stream; etcd tolerates pings every 5 s or slower.
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
        };
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = options.ServerCertificateValidation,
            };
        }
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>"host:port" (address as given, for messages).</summary>
    public string Target { get; }

    internal GrpcChannelOptions Options { get; }

    internal HttpMessageInvoker Invoker { get; }

    /// <summary>"http://host:port", "https://host:port", or bare "host:port" (= http, h2c prior knowledge).</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            throw new ArgumentException(
                $"'{address}' is not a gRPC address: use host:port, http://host:port or https://host:port", nameof(address));
        }
        return new GrpcChannel(uri, options ?? new GrpcChannelOptions());
    }

    /// <summary>One request, one response. <paramref name="method"/> is the full path, e.g. "/etcdserverpb.KV/Range".</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string method, TRequest request,
        MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        await using var call = StartCall(method, request, parser, options);
        if (!await call.MoveNextAsync())
            throw new RpcException(StatusCode.Internal, $"{Target} ended {method} with OK but sent no response message");
        var response = call.Current;
        if (await call.MoveNextAsync())
            throw new RpcException(StatusCode.Internal, $"{Target} sent more than one response message to unary {method}");
        return response;
    }

    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(string method,
        TRequest request, MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var call = StartCall(method, request, parser, options);
        return new ServerStreamingCall<TResponse>(call, call);
    }

    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(string method,
        MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        CheckMethod(method);
        ArgumentNullException.ThrowIfNull(parser);
        var call = new ClientCall<TResponse>(this, method, parser, options);
        call.Start(new DuplexRequestContent());
        return new DuplexStreamingCall<TRequest, TResponse>(call, call, call);
    }

    public void Dispose() => Invoker.Dispose();

    internal HttpRequestMessage CreateRequest(string method, HttpContent content, TimeSpan? timeout)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.Add(Trailers);
        if (timeout is { } t)
            request.Headers.TryAddWithoutValidation(GrpcHeaders.Timeout, GrpcTimeout.Encode(t));
        return request;
    }

    private ClientCall<TResponse> StartCall<TRequest, TResponse>(string method, TRequest request,
        MessageParser<TResponse> parser, CallOptions options)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        CheckMethod(method);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parser);
        var content = new ByteArrayContent(MessageFraming.ToFrame(request, Options.MaxSendMessageSize, "request"));
        content.Headers.TryAddWithoutValidation("Content-Type", GrpcHeaders.ContentType);
        var call = new ClientCall<TResponse>(this, method, parser, options);
        call.Start(content);
        return call;
    }

    private static void CheckMethod(string method)
    {
        if (string.IsNullOrEmpty(method) || method[0] != '/' || method.IndexOf('/', 1) < 0)
            throw new ArgumentException($"'{method}' is not a gRPC method path: use \"/package.Service/Method\"", nameof(method));
    }
}
