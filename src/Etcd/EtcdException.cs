namespace Lcluster.Etcd;

/// <summary>etcd refused or failed a request; the message says which request, on which endpoint, and why.</summary>
public class EtcdException : Exception
{
    public EtcdException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// No etcd endpoint answered (refused, unreachable, or too slow), or etcd took no request for now (too many requests,
/// its space quota full): map it to gRPC UNAVAILABLE. A write so failed may or may not have been applied.
/// </summary>
public sealed class EtcdUnavailableException(string message, Exception? innerException = null)
    : EtcdException(message, innerException);

/// <summary>
/// The revision asked for has been compacted away; the caller must re-read current state
/// and start again from there. <see cref="CompactRevision"/> is the oldest revision still
/// kept, or 0 when etcd did not say (a Range at a compacted revision).
/// </summary>
public sealed class EtcdCompactedException(long compactRevision, string message, Exception? innerException = null)
    : EtcdException(message, innerException)
{
    public long CompactRevision { get; } = compactRevision;
}

/// <summary>The lease does not exist (it expired or was revoked): whatever was tied to it is gone.</summary>
public sealed class EtcdLeaseNotFoundException(long leaseId, string message, Exception? innerException = null)
    : EtcdException(message, innerException)
{
    public long LeaseId { get; } = leaseId;
}
