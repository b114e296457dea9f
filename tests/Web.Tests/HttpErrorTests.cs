namespace Lcluster.Web.Tests;

/// <summary>A refused request over HTTP: the gRPC status as the HTTP status, and a JSON body with the status's name and the same message.</summary>
[Collection("web node")]
public sealed class HttpErrorTests(WebNode node)
{
    [Theory]
    [InlineData("GET", "/v1/jobs/not-a-uuid", null, "--checkjob=not-a-uuid")]
    [InlineData("DELETE", "/v1/jobs/not-a-uuid", null, "--removejob=not-a-uuid")]
    [InlineData("POST", "/v1/jobs", """{"command": "   "}""", "--addjob=   ")]
    [InlineData("POST", "/v1/jobs", """{"command": "true", "limits": {"memory_bytes": "-5"}}""", "--addjob=true", "--memory=-5")]
    [InlineData("POST", "/v1/jobs", """{"command": "true", "env": {"LCLUSTER_JOB_ID": "x"}}""", "--addjob=true", "--env=LCLUSTER_JOB_ID=x")]
    public async Task A_request_lclusterc_gets_refused_gets_400_with_the_same_message(string method, string path, string? body, params string[] cli)
    {
        var answer = await Http.SendAsync(node.Socket, new HttpMethod(method), path, body);
        var refused = await Cli.RunAsync(node.Daemon.Server, cli);

        Assert.Equal((400, "application/json"), (answer.Status, answer.MediaType));
        Assert.Equal("INVALID_ARGUMENT", answer.Json.GetProperty("code").GetString());
        Assert.True(refused.ExitCode is 1 or 2, $"lclusterc was expected to be refused: {refused}");
        if (refused.ExitCode == 1) // refused by the server (not by lclusterc's own checks): word for word
            Assert.Equal($"lclusterc: {answer.Json.GetProperty("message").GetString()}\n", refused.Stderr);
    }

    [Fact]
    public async Task An_unknown_job_is_404_not_found_with_the_message_lclusterc_prints()
    {
        var id = Guid.NewGuid().ToString();
        var answer = await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}");
        var cli = await Cli.RunAsync(node.Daemon.Server, $"--checkjob={id}");

        Assert.Equal(404, answer.Status);
        Assert.Equal("NOT_FOUND", answer.Json.GetProperty("code").GetString());
        Assert.Equal(3, cli.ExitCode);
        Assert.Equal($"lclusterc: {answer.Json.GetProperty("message").GetString()}\n", cli.Stderr);
        Assert.Equal(404, (await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}/output")).Status);
    }

    [Theory]
    [InlineData("GET", "/v1/jobs?page_size=5000", null, "page_size is 5000")]
    [InlineData("GET", "/v1/jobs?state=sleeping", null, "state 'sleeping' is not a job state")]
    [InlineData("GET", "/v1/jobs?page_size=ten", null, "page_size 'ten' is not a whole number")]
    [InlineData("GET", "/v1/jobs?colour=red", null, "unknown query parameter 'colour'")]
    [InlineData("DELETE", "/v1/jobs/3f2b8c1e-7d4a-4e2b-9c1d-0a1b2c3d4e5f?dry_run=1", null, "unknown query parameter 'dry_run'")]
    [InlineData("GET", "/v1/nodes?verbose=1", null, "unknown query parameter 'verbose'")]
    [InlineData("GET", "/v1/jobs?state=running&state=failed", null, "query parameter state given 2 times")]
    [InlineData("GET", "/v1/jobs?page_token=garbage", null, "page_token is not one this listing gave")]
    [InlineData("GET", "/v1/jobs?name=a%00b", null, "name contains a NUL byte")]
    [InlineData("GET", "/v1/jobs?owner=a%0Ab", null, "owner contains a control character")]
    [InlineData("GET", "/v1/events?owner=a%00b", null, "owner contains a NUL byte")]
    [InlineData("GET", "/v1/events?start_revision=-1", null, "start_revision is -1")]
    [InlineData("GET", "/v1/jobs/3f2b8c1e-7d4a-4e2b-9c1d-0a1b2c3d4e5f/output?stream=stdin", null, "stream 'stdin' is not stdout or stderr")]
    [InlineData("POST", "/v1/jobs", "{not json", "the body is not")]
    [InlineData("POST", "/v1/jobs", """{"command": "true", "colour": "red"}""", "colour")]
    [InlineData("POST", "/v1/jobs", """{"command": "true", "limits": {"cpus": "many"}}""", "the body is not")]
    public async Task A_malformed_request_is_400_invalid_argument_naming_what_is_wrong(string method, string path, string? body, string says)
    {
        var answer = await Http.SendAsync(node.Socket, new HttpMethod(method), path, body);

        Assert.True(answer.Status == 400, answer.ToString());
        Assert.Equal("INVALID_ARGUMENT", answer.Json.GetProperty("code").GetString());
        Assert.Contains(says, answer.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_by_its_content_type_is_refused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new FormUrlEncodedContent([new("command", "true")]) };
        using var response = await node.Socket.SendAsync(request);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("send JSON, with Content-Type: application/json", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_body_over_the_message_limit_is_429_resource_exhausted()
    {
        var stdin = Convert.ToBase64String(new byte[3 << 20]); // past 4 MiB once base64
        var answer = await Http.SendAsync(node.Socket, HttpMethod.Post, "/v1/jobs", $$"""{"command": "true", "stdin": "{{stdin}}"}""");

        Assert.Equal(429, answer.Status);
        Assert.Equal("RESOURCE_EXHAUSTED", answer.Json.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Over_tcp_without_a_certificate_or_token_every_call_is_401_unauthenticated()
    {
        using var tcp = Http.OverTcp(node.Daemon.HttpAddress);
        foreach (var (method, path) in new[] { ("GET", "/v1/nodes"), ("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/metrics"), ("GET", "/v1/events") })
        {
            var answer = await Http.SendAsync(tcp, new HttpMethod(method), path, method == "POST" ? """{"command": "true"}""" : null);
            Assert.True(answer.Status == 401, $"{method} {path}: {answer}");
            Assert.Equal("UNAUTHENTICATED", answer.Json.GetProperty("code").GetString());
            Assert.Contains("lclusterc --dashboard", answer.Json.GetProperty("message").GetString());
            Assert.Equal("Bearer realm=\"lcluster\"", answer.Headers.WwwAuthenticate.ToString());
        }
        Assert.Equal(200, (await Http.SendAsync(tcp, HttpMethod.Get, "/v1/openapi.json")).Status); // the description is public
    }

    [Fact]
    public async Task The_grpc_endpoints_serve_no_http_api()
    {
        using var h2 = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://{node.Daemon.Address}") };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/openapi.json") { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await h2.SendAsync(request);

        Assert.Equal(404, (int)response.StatusCode);
    }
}
