namespace Lcluster.Rpc;

/// <summary>The outgoing messages of a streaming call, on the server; one write at a time.</summary>
public interface IServerStreamWriter<T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
