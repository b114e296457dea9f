using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Shared;

/// <summary>
/// A node's or a user's TLS identity loaded from PEM files, and the one rule both sides apply to
/// the other's certificate: it must chain to the cluster's CA — not to any CA the host trusts.
/// Compiled into both programs.
/// </summary>
internal sealed class TlsIdentity
{
    private TlsIdentity(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
    }

    /// <summary>This side's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The cluster's CA.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>Loads the files; throws InvalidOperationException naming the file and what to do.</summary>
    public static TlsIdentity Load(string caFile, string certFile, string keyFile)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // Loaded through PKCS#12 so the key stays usable by TLS on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            return new TlsIdentity(certificate, X509CertificateLoader.LoadCertificateFromFile(caFile));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidOperationException($"{e.Message} (of --cacert {caFile}, --cert {certFile}, --key {keyFile}): " +
                "certificates come from `lclusterd ca …` (docs/security.md)");
        }
        catch (UnauthorizedAccessException e)
        {
            // A key issued as root (0600, in root's directory) and not yet handed over to its user, most often.
            throw new InvalidOperationException($"cannot read the certificate {certFile}, its key {keyFile} or the CA {caFile}: {e.Message} " +
                "(a user's key and its directory must be theirs to read: chown them to the user)");
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"cannot load the certificate {certFile} with its key {keyFile}: {e.Message}");
        }
    }

    /// <summary>Does the peer's certificate chain to the cluster CA, for the given purpose (client or server authentication)?</summary>
    public bool Trusts(X509Certificate2 peer, bool asClient)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy = Policy(asClient);
        return chain.Build(peer);
    }

    /// <summary>How a client (lclusterc, a node proxying to another) checks a node: the cluster CA and the node's name or address.</summary>
    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        ClientCertificates = [Certificate],
        CertificateChainPolicy = Policy(asClient: false),
    };

    private X509ChainPolicy Policy(bool asClient)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(Authority);
        policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(asClient ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1"));
        return policy;
    }
}
