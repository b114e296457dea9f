using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>A method the server can dispatch to: reads the request(s), runs the handler, writes the response(s).</summary>
internal abstract class ServerMethod
{
    public abstract Task InvokeAsync(ServerCall call);
}

internal sealed class UnaryMethod<TRequest, TResponse>(
    MessageParser<TRequest> parser, Func<TRequest, ServerCallContext, Task<TResponse>> handler) : ServerMethod
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public override Task InvokeAsync(ServerCall call) => call.RunAsync(async () =>
    {
        var request = await call.ReadSingleAsync(parser);
        var response = await handler(request, call.Context)
            ?? throw new InvalidOperationException($"the handler of {call.Context.Method} returned no response");
        await call.WriteAsync(response, flush: false, CancellationToken.None);
    });
}

internal sealed class ServerStreamingMethod<TRequest, TResponse>(
    MessageParser<TRequest> parser, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : ServerMethod
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public override Task InvokeAsync(ServerCall call) => call.RunAsync(async () =>
    {
        var request = await call.ReadSingleAsync(parser);
        await handler(request, new ResponseStreamWriter<TResponse>(call), call.Context);
    });
}

internal sealed class DuplexStreamingMethod<TRequest, TResponse>(
    MessageParser<TRequest> parser, Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : ServerMethod
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public override Task InvokeAsync(ServerCall call) => call.RunAsync(() =>
        handler(new RequestStreamReader<TRequest>(call, parser), new ResponseStreamWriter<TResponse>(call), call.Context));
}

internal sealed class ResponseStreamWriter<T>(ServerCall call) : IServerStreamWriter<T>
    where T : IMessage<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return call.WriteAsync(message, flush: true, cancellationToken);
    }
}

internal sealed class RequestStreamReader<T>(ServerCall call, MessageParser<T> parser) : IAsyncStreamReader<T>
    where T : IMessage<T>
{
    private readonly MessageReader<T> _reader = call.CreateReader(parser);
    private bool _ended;

    public T Current { get; private set; } = default!;

    public async Task<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        if (_ended)
            return false;
        var message = await call.ReadAsync(_reader, cancellationToken);
        if (message is null)
        {
            _ended = true;
            return false;
        }
        Current = message;
        return true;
    }
}
