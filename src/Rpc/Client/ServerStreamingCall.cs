namespace Lcluster.Rpc;

/// <summary>A call with one request and a stream of responses.</summary>
public sealed class ServerStreamingCall<T> : IAsyncDisposable
{
    private readonly IAsyncDisposable _call;

    internal ServerStreamingCall(IAsyncStreamReader<T> responses, IAsyncDisposable call)
    {
        ResponseStream = responses;
        _call = call;
    }

    public IAsyncStreamReader<T> ResponseStream { get; }

    /// <summary>Cancels the call (RST_STREAM) if it has not ended.</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}
