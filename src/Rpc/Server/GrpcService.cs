using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>One service's methods and their handlers, e.g. "lcluster.v1.Lclusterd".</summary>
public sealed class GrpcService
{
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);

    public GrpcService(string fullName)
    {
        if (string.IsNullOrWhiteSpace(fullName) || fullName.Contains('/'))
            throw new ArgumentException($"'{fullName}' is not a service name: use \"package.Service\"", nameof(fullName));
        FullName = fullName;
    }

    public string FullName { get; }

    /// <summary>Keyed by the full path, "/package.Service/Method".</summary>
    internal IReadOnlyDictionary<string, ServerMethod> Methods => _methods;

    public GrpcService Unary<TRequest, TResponse>(string name, MessageParser<TRequest> parser,
        Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse> =>
        Add(name, new UnaryMethod<TRequest, TResponse>(parser, handler));

    public GrpcService ServerStreaming<TRequest, TResponse>(string name, MessageParser<TRequest> parser,
        Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse> =>
        Add(name, new ServerStreamingMethod<TRequest, TResponse>(parser, handler));

    public GrpcService DuplexStreaming<TRequest, TResponse>(string name, MessageParser<TRequest> parser,
        Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse> =>
        Add(name, new DuplexStreamingMethod<TRequest, TResponse>(parser, handler));

    private GrpcService Add(string name, ServerMethod method)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/'))
            throw new ArgumentException($"'{name}' is not a method name", nameof(name));
        if (!_methods.TryAdd($"/{FullName}/{name}", method))
            throw new ArgumentException($"{FullName} already has a method {name}", nameof(name));
        return this;
    }
}
