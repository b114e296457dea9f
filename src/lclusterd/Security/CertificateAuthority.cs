using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Daemon.Security;

/// <summary>What a certificate is for: a node (server and client), a user or an admin (client).</summary>
internal enum CertificateRole { Node, User, Admin }

/// <summary>
/// A cluster's certificate authority in a directory of PEM files (ca.crt, ca.key), and the
/// certificates it issues: ECDSA P-256 keys, SHA-256 signatures, files only root can read.
/// No external service; `lclusterd ca …` is its command line (docs/security.md).
/// </summary>
internal sealed class CertificateAuthority
{
    public const string CertificateFile = "ca.crt";
    public const string KeyFile = "ca.key";
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(825);
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly X509Certificate2 _ca;

    private CertificateAuthority(string directory, X509Certificate2 ca)
    {
        Directory = directory;
        _ca = ca;
    }

    public string Directory { get; }

    public string CertificatePath => Path.Combine(Directory, CertificateFile);

    /// <summary>A new CA in <paramref name="directory"/>; refuses to overwrite one.</summary>
    public static CertificateAuthority Create(string directory, string name)
    {
        var certPath = Path.Combine(directory, CertificateFile);
        if (File.Exists(certPath))
            throw new InvalidOperationException($"{certPath} exists already: a cluster has one CA; use it, or remove it first");
        System.IO.Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(name)}, O=lcluster"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = request.CreateSelfSigned(now.AddMinutes(-5), now + CaLifetime);
        Write(Path.Combine(directory, KeyFile), key.ExportPkcs8PrivateKeyPem(), Private);
        Write(certPath, ca.ExportCertificatePem(), Public);
        return new CertificateAuthority(directory, X509Certificate2.CreateFromPem(ca.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>The CA in <paramref name="directory"/>, with its key (to issue).</summary>
    public static CertificateAuthority Open(string directory)
    {
        var certPath = Path.Combine(directory, CertificateFile);
        var keyPath = Path.Combine(directory, KeyFile);
        if (!File.Exists(certPath) || !File.Exists(keyPath))
            throw new InvalidOperationException($"no CA in {directory} ({CertificateFile} and {KeyFile}): make one with `lclusterd ca init --dir={directory}`");
        return new CertificateAuthority(directory, X509Certificate2.CreateFromPemFile(certPath, keyPath));
    }

    /// <summary>
    /// Issues a certificate and key as NAME.crt and NAME.key in <paramref name="outputDirectory"/>
    /// (the key readable by root only), with the CA's certificate beside them as ca.crt.
    /// </summary>
    public TlsFiles Issue(string name, CertificateRole role, IReadOnlyList<string> addresses, string outputDirectory, string fileName)
    {
        System.IO.Directory.CreateDirectory(outputDirectory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var unit = role switch
        {
            CertificateRole.Node => $", OU={Hosting.Identity.NodeUnit}",
            CertificateRole.Admin => $", OU={Hosting.Identity.AdminUnit}",
            _ => "",
        };
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(name)}{unit}, O=lcluster"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        var usages = new OidCollection();
        if (role is CertificateRole.Node)
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1")); // server authentication
        usages.Add(new Oid("1.3.6.1.5.5.7.3.2")); // client authentication (a node dials other nodes with it too)
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (addresses.Count > 0)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (var address in addresses)
            {
                if (IPAddress.TryParse(address, out var ip))
                    names.AddIpAddress(ip);
                else
                    names.AddDnsName(address);
            }
            request.CertificateExtensions.Add(names.Build());
        }
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + LeafLifetime < _ca.NotAfter ? now + LeafLifetime : new DateTimeOffset(_ca.NotAfter.ToUniversalTime());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number
        using var certificate = request.Create(_ca, now.AddMinutes(-5), notAfter, serial);
        var paths = new TlsFiles(Path.Combine(outputDirectory, CertificateFile),
            Path.Combine(outputDirectory, fileName + ".crt"), Path.Combine(outputDirectory, fileName + ".key"));
        Write(paths.KeyFile, key.ExportPkcs8PrivateKeyPem(), Private);
        Write(paths.CertFile, certificate.ExportCertificatePem(), Public);
        if (Path.GetFullPath(paths.CaFile) != Path.GetFullPath(CertificatePath))
            Write(paths.CaFile, _ca.ExportCertificatePem(), Public);
        return paths;
    }

    /// <summary>Writes a file whole, with its mode set before any byte of it is there to read.</summary>
    private static void Write(string path, string text, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode }))
        {
            File.SetUnixFileMode(temp, mode); // an existing temp file keeps its old mode otherwise
            using var writer = new StreamWriter(file);
            writer.Write(text);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>A value for a distinguished name: commas, pluses and quotes would start another attribute.</summary>
    private static string Escape(string value) =>
        value.Any(c => c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=')
            ? throw new ArgumentException($"'{value}' cannot be a certificate name: no , + \" \\ < > ; =")
            : value;
}

/// <summary>A certificate authority's certificate, and a certificate with its key, as PEM files.</summary>
internal sealed record TlsFiles(string CaFile, string CertFile, string KeyFile);
