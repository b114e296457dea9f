using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Lcluster.Web.Tests;

/// <summary>
/// --http-listen on a node with a certificate: TLS with the node's certificate; a client certificate of the cluster
/// CA names the caller, as on --listen; a browser without one signs in with a dashboard token.
/// </summary>
public sealed class TlsTests : IAsyncLifetime
{
    private string _ca = null!;
    private DaemonProcess _node = null!;

    public async Task InitializeAsync()
    {
        _ca = CertificateTool.NewAuthority();
        foreach (var user in new[] { "alice", "bob" })
            CertificateTool.Run("ca", "user", $"--dir={_ca}", $"--name={user}");
        _node = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "tls-web", CertificateAuthority = _ca, HttpListen = true });
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(_ca)!, recursive: true);
    }

    [Fact]
    public async Task A_client_certificate_names_the_caller_and_another_users_job_is_forbidden()
    {
        using var alice = Client("alice");
        using var bob = Client("bob");

        var added = await Http.SendAsync(alice, HttpMethod.Post, "/v1/jobs", """{"command": "true"}""");
        var id = added.Json.GetProperty("id").GetString()!;
        var own = await Http.SendAsync(alice, HttpMethod.Get, $"/v1/jobs/{id}");
        var others = await Http.SendAsync(bob, HttpMethod.Get, $"/v1/jobs/{id}");

        Assert.Equal("alice", own.Json.GetProperty("owner").GetString());
        Assert.Equal((403, "PERMISSION_DENIED"), (others.Status, others.Json.GetProperty("code").GetString()));
        Assert.Empty((await Http.SendAsync(bob, HttpMethod.Get, "/v1/jobs")).Json.GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task Without_a_certificate_only_a_token_lets_in_and_the_dashboard_page_sets_no_cookie()
    {
        using var stranger = Client(null);
        Assert.Equal(401, (await Http.SendAsync(stranger, HttpMethod.Get, "/v1/nodes")).Status);

        var link = await Cli.RunAsync(_node.Address, "--dashboard", $"--cacert={_ca}/ca.crt", $"--cert={_ca}/users/alice/user.crt", $"--key={_ca}/users/alice/user.key");
        Assert.True(link.ExitCode == 0, link.ToString());
        var url = new Uri(link.Stdout.Trim());
        Assert.Equal(("https", _node.HttpPort, "/ui/"), (url.Scheme, url.Port, url.AbsolutePath));
        var token = await Http.SignInAsync(stranger, url);

        var nodes = await Http.SendAsync(stranger, HttpMethod.Get, "/v1/nodes", bearer: token);
        var added = await Http.SendAsync(stranger, HttpMethod.Post, "/v1/jobs", """{"command": "true"}""", bearer: token);
        Assert.Equal(200, nodes.Status);
        Assert.Equal("alice", (await Http.SendAsync(stranger, HttpMethod.Get, $"/v1/jobs/{added.Json.GetProperty("id").GetString()}", bearer: token)).Json.GetProperty("owner").GetString());

        // The link's token is in its fragment, which the browser keeps: the page it loads is the same for everyone.
        using var page = await stranger.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("/ui/", url.PathAndQuery);
        Assert.False(page.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Grpc_is_not_served_on_the_http_port_to_a_caller_without_a_certificate()
    {
        // A browser's port takes callers without a certificate: gRPC health, reflection and streams must not answer there.
        using var stranger = Client(null);
        using var call = new HttpRequestMessage(HttpMethod.Post, "/grpc.health.v1.Health/Check")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]), // one uncompressed, empty message
        };
        call.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        call.Headers.TryAddWithoutValidation("TE", "trailers");

        using var answer = await stranger.SendAsync(call);

        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
    }

    private HttpClient Client(string? user)
    {
        var handler = new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false };
        var authority = X509CertificateLoader.LoadCertificateFromFile($"{_ca}/ca.crt");
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.CustomTrustStore.Add(authority);
            return certificate is X509Certificate2 node && chain.Build(node);
        };
        if (user is not null)
        {
            var pem = X509Certificate2.CreateFromPemFile($"{_ca}/users/{user}/user.crt", $"{_ca}/users/{user}/user.key");
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
        }
        return new HttpClient(handler) { BaseAddress = new Uri($"https://{_node.HttpAddress}"), Timeout = TimeSpan.FromSeconds(60) };
    }
}
