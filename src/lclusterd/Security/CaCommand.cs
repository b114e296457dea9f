namespace Lcluster.Daemon.Security;

/// <summary>
/// `lclusterd ca …`: makes a cluster's CA and issues node and user certificates as files
/// (docs/security.md walks through a cluster's set-up with them).
/// </summary>
internal static class CaCommand
{
    public const string NodesDirectory = "nodes";
    public const string UsersDirectory = "users";

    /// <summary>`ca init`: a new CA in DIR (ca.crt to hand out, ca.key to keep on the machine that issues).</summary>
    public static void Init(string dir, string name, TextWriter output)
    {
        var ca = CertificateAuthority.Create(dir, name);
        output.WriteLine($"CA made: {ca.CertificatePath} (give it to every node and user) and {Path.Combine(dir, CertificateAuthority.KeyFile)} (keep it here, root only)");
    }

    /// <summary>`ca node NAME --address=…`: a node's certificate, valid for the addresses others dial it at.</summary>
    public static TlsFiles Node(string dir, string name, IReadOnlyList<string> addresses, TextWriter output)
    {
        if (addresses.Count == 0)
            throw new InvalidOperationException("a node certificate needs the addresses others reach the node at: --address=IP[,IP…] (its --advertise address)");
        var files = CertificateAuthority.Open(dir).Issue(name, CertificateRole.Node, addresses, Path.Combine(dir, NodesDirectory, name), "node");
        output.WriteLine($"node {name}: start it with --tls-ca={files.CaFile} --tls-cert={files.CertFile} --tls-key={files.KeyFile}");
        return files;
    }

    /// <summary>`ca user NAME [--admin]`: a user's client certificate; an admin's may act on every job.</summary>
    public static TlsFiles User(string dir, string name, bool admin, TextWriter output)
    {
        var files = CertificateAuthority.Open(dir).Issue(name, admin ? CertificateRole.Admin : CertificateRole.User, [], Path.Combine(dir, UsersDirectory, name), "user");
        output.WriteLine($"user {name}{(admin ? " (admin)" : "")}: lclusterc --cacert={files.CaFile} --cert={files.CertFile} --key={files.KeyFile} --server=HOST:PORT …");
        return files;
    }
}
