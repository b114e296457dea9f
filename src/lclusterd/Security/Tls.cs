using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Daemon.Security;

/// <summary>
/// A node's TLS material loaded from PEM files, and the one rule both sides apply to the other's
/// certificate: it must chain to the cluster's CA — not to any CA the host trusts.
/// </summary>
internal sealed class Tls
{
    private Tls(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
    }

    /// <summary>This side's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The cluster's CA.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>Loads the files; throws InvalidOperationException naming the file and what to do.</summary>
    public static Tls Load(TlsFiles files)
    {
        foreach (var path in new[] { files.CaFile, files.CertFile, files.KeyFile })
        {
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} does not exist: issue the certificates with `lclusterd ca …` (docs/security.md)");
        }
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(files.CertFile, files.KeyFile);
            // Loaded through PKCS#12 so the key stays usable by TLS on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            return new Tls(certificate, X509CertificateLoader.LoadCertificateFromFile(files.CaFile));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"cannot load the certificate {files.CertFile} with its key {files.KeyFile}: {e.Message}");
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
