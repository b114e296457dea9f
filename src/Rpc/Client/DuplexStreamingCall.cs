using Google.Protobuf;

namespace Lcluster.Rpc;

/// <summary>A call whose requests and responses both stream, at the same time.</summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IAsyncDisposable
{
    private readonly IRequestStream _requests;
    private readonly IAsyncDisposable _call;

    internal DuplexStreamingCall(IAsyncStreamReader<TResponse> responses, IRequestStream requests, IAsyncDisposable call)
    {
        ResponseStream = responses;
        _requests = requests;
        _call = call;
    }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>Sends one message and flushes it to the wire; one write at a time.</summary>
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) =>
        _requests.WriteAsync(message as IMessage ?? throw new ArgumentNullException(nameof(message)), cancellationToken);

    /// <summary>Half-closes the request side; responses keep coming until the server ends the call.</summary>
    public Task CompleteAsync() => _requests.CompleteAsync();

    /// <summary>Cancels the call (RST_STREAM) if it has not ended.</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}

/// <summary>The request side of a client call that streams its requests.</summary>
internal interface IRequestStream
{
    Task WriteAsync(IMessage message, CancellationToken cancellationToken);

    Task CompleteAsync();
}
