namespace Lcluster.Rpc;

/// <summary>The incoming messages of a streaming call.</summary>
public interface IAsyncStreamReader<T>
{
    /// <summary>The message the last successful <see cref="MoveNextAsync"/> read.</summary>
    T Current { get; }

    /// <summary>
    /// Reads the next message: false at the end of a stream that ended with status OK; throws
    /// <see cref="RpcException"/> for any other status. Cancelling the token cancels the call.
    /// </summary>
    Task<bool> MoveNextAsync(CancellationToken cancellationToken = default);
}
