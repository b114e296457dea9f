using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>A call whose requests and responses both stream, at the same time.</summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IAsyncDisposable
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    private readonly ClientCall<TResponse> _call;

    internal DuplexStreamingCall(ClientCall<TResponse> call) => _call = call;

    public IAsyncStreamReader<TResponse> ResponseStream => _call;

    /// <summary>Sends one message and flushes it to the wire; one write at a time.</summary>
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) =>
        _call.WriteAsync(message, cancellationToken);

    /// <summary>Half-closes the request side; responses keep coming until the server ends the call.</summary>
    public Task CompleteAsync() => _call.CompleteAsync();

    /// <summary>Cancels the call (RST_STREAM) if it has not ended.</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}
