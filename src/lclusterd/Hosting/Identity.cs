using System.Net;
using System.Security.Cryptography.X509Certificates;
using Lcluster.Daemon.Api;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// Who a caller is, established once per connection from what the connection proves
/// (docs/security.md): on the Unix socket, the uid the kernel reports for the peer (root is an
/// admin); over TLS, the subject of the client certificate the cluster CA issued (a node's, or
/// one marked admin, is an admin); over plain TCP, nobody — unless the node runs --insecure.
/// </summary>
internal static class Identity
{
    /// <summary>The organizational unit of a node's certificate: nodes act for the users they forward.</summary>
    public const string NodeUnit = "lcluster-node";

    /// <summary>The organizational unit of an admin user's certificate.</summary>
    public const string AdminUnit = "lcluster-admin";

    /// <summary>The user every caller on an --insecure TCP endpoint is.</summary>
    public const string InsecureUser = "anonymous";

    /// <summary>Connection middleware of the Unix socket: the peer's uid, from the kernel.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> FromPeerCredentials(Log log) => next => async connection =>
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            try
            {
                var peer = PeerCredentials.Of(socket.SafeHandle);
                connection.Features.Set(new Caller(HostAccounts.UserName(peer.Uid), IsAdmin: peer.Uid == 0));
            }
            catch (IOException e)
            {
                log.Warn($"unix socket: cannot tell who connected ({e.Message}); the connection gets no identity");
            }
        }
        await next(connection);
    };

    /// <summary>Request middleware: the caller of a TCP request, from its client certificate (or --insecure).</summary>
    public static Func<HttpContext, RequestDelegate, Task> FromConnection(bool insecure) => (context, next) =>
    {
        if (context.Features.Get<Caller>() is null && context.Connection.LocalIpAddress is not null)
        {
            var caller = context.Connection.ClientCertificate is { } certificate ? FromCertificate(certificate)
                : insecure ? new Caller(InsecureUser, IsAdmin: true)
                : null;
            if (caller is not null)
                context.Features.Set(caller);
        }
        return next(context);
    };

    /// <summary>The caller a client certificate names: CN is the user (or node); OU says node or admin.</summary>
    public static Caller? FromCertificate(X509Certificate2 certificate)
    {
        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (string.IsNullOrEmpty(name))
            return null;
        var units = certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(rdn => rdn.GetSingleElementType().Value == "2.5.4.11")
            .Select(rdn => rdn.GetSingleElementValue()).ToHashSet(StringComparer.Ordinal);
        return units.Contains(NodeUnit) ? new Caller("node:" + name, IsAdmin: true)
            : new Caller(name, IsAdmin: units.Contains(AdminUnit));
    }

    /// <summary>Loopback or not: a node without TLS may listen only on loopback, unless --insecure.</summary>
    public static bool IsLoopback(IPEndPoint endpoint) => IPAddress.IsLoopback(endpoint.Address);
}
