namespace Lcluster.Rpc;

/// <summary>
/// Per-call settings. <paramref name="Timeout"/> is sent as <c>grpc-timeout</c> and enforced
/// locally (the call fails with DeadlineExceeded); cancelling <paramref name="CancellationToken"/>
/// resets the stream and throws <see cref="OperationCanceledException"/>.
/// </summary>
public readonly record struct CallOptions(TimeSpan? Timeout = null, CancellationToken CancellationToken = default);
