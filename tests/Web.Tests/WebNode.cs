using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>
/// One real lclusterd with --http-listen on loopback (no TLS) and its HTTP socket open to the group "nogroup"
/// (so a test may call it as nobody), shared by the tests of the "web node" collection; with HTTP helpers.
/// </summary>
public sealed class WebNode : IAsyncLifetime
{
    public DaemonProcess Daemon { get; private set; } = null!;

    /// <summary>Root on the HTTP socket: an admin.</summary>
    public HttpClient Socket { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "web",
            HttpListen = true,
            SocketGroup = "nogroup",
            ExtraArgs = ["--slots=2", "--max-memory=1G", "--max-time=10m", "--default-memory=256M"],
        });
        Socket = Http.OverSocket(Daemon.HttpSocketPath);
    }

    public async Task DisposeAsync()
    {
        Socket.Dispose();
        await Daemon.DisposeAsync();
    }

    /// <summary>POST /v1/jobs with the given JSON; the new job's id.</summary>
    public async Task<string> AddAsync(string json)
    {
        var answer = await Http.SendAsync(Socket, HttpMethod.Post, "/v1/jobs", json);
        Assert.True(answer.Status == 200, $"POST /v1/jobs {json}: {answer}");
        return answer.Json.GetProperty("id").GetString()!;
    }

    /// <summary>GET /v1/jobs/ID until its state is one of <paramref name="states"/> (JOB_STATE_ names); fails with the record and the log.</summary>
    public async Task<JsonElement> WaitForStateAsync(string id, TimeSpan within, params string[] states)
    {
        var deadline = DateTime.UtcNow + within;
        HttpAnswer answer;
        do
        {
            answer = await Http.SendAsync(Socket, HttpMethod.Get, $"/v1/jobs/{id}");
            if (answer.Status == 200 && states.Contains(answer.Json.GetProperty("state").GetString()))
                return answer.Json;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        throw new Xunit.Sdk.XunitException($"job {id} did not reach {string.Join("/", states)} within {within.TotalSeconds}s: {answer}\n--- daemon log:\n{Daemon.LogTail()}");
    }
}

[CollectionDefinition("web node")]
public sealed class WebNodeCollection : ICollectionFixture<WebNode>;

/// <summary>An HTTP answer as a test looks at it: status, media type, body (and the body as JSON when it is JSON).</summary>
public sealed record HttpAnswer(int Status, string? MediaType, string Body, HttpResponseHeaders Headers)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    public override string ToString() => $"HTTP {Status} {MediaType}: {Body}";
}

/// <summary>HTTP clients of a node: over its HTTP socket (as root), or over TCP.</summary>
public static class Http
{
    /// <summary>The link's token of the link `lclusterc --dashboard` prints (http://ADDR/ui/#token=TOKEN).</summary>
    public static string LinkTokenOf(Uri link)
    {
        Assert.StartsWith("#token=", link.Fragment, StringComparison.Ordinal);
        return link.Fragment["#token=".Length..];
    }

    /// <summary>A session's token for the link, as the page the link opens gets it (POST /v1/dashboard/session).</summary>
    public static async Task<string> SignInAsync(HttpClient client, Uri link)
    {
        var session = await SendAsync(client, HttpMethod.Post, "/v1/dashboard/session", bearer: LinkTokenOf(link));
        Assert.True(session.Status == 200, session.ToString());
        return session.Json.GetProperty("token").GetString()!;
    }

    public static HttpClient OverSocket(string path)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public static HttpClient OverTcp(string address, HttpMessageHandler? handler = null) =>
        new(handler ?? new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{address}"), Timeout = TimeSpan.FromSeconds(60) };

    public static async Task<HttpAnswer> SendAsync(HttpClient client, HttpMethod method, string path, string? json = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await client.SendAsync(request);
        return new HttpAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(), response.Headers);
    }
}
