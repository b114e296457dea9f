using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Rpc;

/// <summary>Settings of a <see cref="GrpcServer"/>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Where to listen; port 0 = any free port (see <see cref="GrpcServer.BoundEndpoint"/>).</summary>
    public required IPEndPoint Endpoint { get; init; }

    /// <summary>null = cleartext HTTP/2 (h2c); otherwise TLS with this certificate.</summary>
    public X509Certificate2? Certificate { get; init; }

    public int MaxReceiveMessageSize { get; init; } = 4 * 1024 * 1024;
    public int MaxSendMessageSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>One line per unexpected server error (a handler's crash, a Kestrel error); null = silent.</summary>
    public Action<string>? Log { get; init; }
}
