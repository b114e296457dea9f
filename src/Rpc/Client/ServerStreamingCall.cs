namespace Lcluster.Rpc;

/// <summary>A call with one request and a stream of responses.</summary>
public sealed class ServerStreamingCall<T> : IAsyncDisposable
    where T : Google.Protobuf.IMessage<T>
{
    private readonly ClientCall<T> _call;

    internal ServerStreamingCall(ClientCall<T> call) => _call = call;

    public IAsyncStreamReader<T> ResponseStream => _call;

    /// <summary>Cancels the call (RST_STREAM) if it has not ended.</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}
