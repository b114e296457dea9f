using System.Text.Json;
using Lcluster.Daemon.Web;

namespace Lcluster.Web.Tests;

/// <summary>GET /v1/openapi.json describes what the node serves: every route, and answers that fit their schemas.</summary>
[Collection("web node")]
public sealed class OpenApiTests(WebNode node)
{
    [Fact]
    public async Task The_description_lists_exactly_the_routes_the_daemon_maps_and_each_answers()
    {
        var document = (await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/openapi.json")).Json;
        var described = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}")).Order().ToList();
        var mapped = HttpRoutes.All.Select(r => $"{r.Method} {r.Path}").Order().ToList();
        Assert.Equal(mapped, described);

        var upload = await FileRouteTests.PostArchiveAsync(node, FileRouteTests.Archive(("in.txt", "in", UnixFileMode.UserRead)));
        var inputs = upload.Json.GetProperty("id").GetString();
        var id = await node.AddAsync($$"""{"command": "cp in.txt out.txt", "inputs": "{{inputs}}", "artifacts": ["out.txt"]}""");
        await node.WaitForStateAsync(id, TimeSpan.FromSeconds(30), "JOB_STATE_SUCCEEDED");
        foreach (var route in HttpRoutes.All.Where(r => r.Method == "GET" && r.Path != "/v1/events"))
        {
            using var response = await node.Socket.GetAsync(route.Path.Replace("{id}", id));
            var media = response.Content.Headers.ContentType?.MediaType;
            Assert.True((int)response.StatusCode == 200, $"GET {route.Path}: {(int)response.StatusCode}");
            Assert.True(media == (route.Answer is null ? route.AnswerMediaType : "application/json"), $"GET {route.Path}: {media}");
        }
    }

    [Fact]
    public async Task Every_answer_and_error_fits_the_schema_the_description_gives_it()
    {
        var document = (await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/openapi.json")).Json;
        var added = await Http.SendAsync(node.Socket, HttpMethod.Post, "/v1/jobs", """{"command": "exit 4", "name": "described", "env": {"K": "v"}, "array": {"first": 1, "last": 2}}""");
        var id = added.Json.GetProperty("id").GetString()!;
        await node.WaitForStateAsync(id, TimeSpan.FromSeconds(30), "JOB_STATE_FAILED");
        var answers = new List<(string Operation, HttpAnswer Answer)>
        {
            ("POST /v1/jobs", added),
            ("POST /v1/inputs", await FileRouteTests.PostArchiveAsync(node, FileRouteTests.Archive(("a", "b", UnixFileMode.UserRead)))),
            ("POST /v1/inputs", await FileRouteTests.PostArchiveAsync(node, [1, 2, 3])),
            ("GET /v1/jobs/{id}", await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}")),
            ("GET /v1/jobs", await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?page_size=3")),
            ("GET /v1/nodes", await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/nodes")),
            ("POST /v1/dashboard/tokens", await Http.SendAsync(node.Socket, HttpMethod.Post, "/v1/dashboard/tokens", "{}")),
            ("DELETE /v1/jobs/{id}", await Http.SendAsync(node.Socket, HttpMethod.Delete, $"/v1/jobs/{id}")),
            ("GET /v1/jobs/{id}", await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs/nope")),
            ("GET /v1/jobs", await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?state=nope")),
        };

        foreach (var (operation, answer) in answers)
        {
            var (method, path) = (operation.Split(' ')[0].ToLowerInvariant(), operation.Split(' ')[1]);
            var responses = document.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
            var documented = responses.GetProperty(answer.Status == 200 ? "200" : "default").GetProperty("content").GetProperty("application/json").GetProperty("schema");
            var check = new SchemaCheck(document).Check(answer.Json, documented);
            Assert.True(check.Problems.Count == 0, $"{operation} answered {answer}\nwhich does not fit its description:\n{string.Join("\n", check.Problems)}");
        }
        // The check can fail: a field the description lacks is caught.
        var extra = JsonDocument.Parse("""{"code": "NOT_FOUND", "message": "x", "hint": "y"}""").RootElement;
        Assert.NotEmpty(new SchemaCheck(document).Check(extra, JsonDocument.Parse("""{"$ref": "#/components/schemas/Error"}""").RootElement).Problems);
    }

    [Fact]
    public async Task Each_event_of_the_stream_fits_the_job_event_schema()
    {
        var document = (await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/openapi.json")).Json;
        var reference = document.GetProperty("paths").GetProperty("/v1/events").GetProperty("get").GetProperty("responses")
            .GetProperty("200").GetProperty("content").GetProperty("text/event-stream").GetProperty("x-event-data").GetString();
        var from = long.Parse((await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?page_size=1")).Json.GetProperty("revision").GetString()!) + 1;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await node.Socket.GetAsync($"/v1/events?start_revision={from}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var events = new ServerSentEvents(await response.Content.ReadAsStreamAsync(cancel.Token));
        var id = await node.AddAsync("""{"command": "true"}""");

        var schema = JsonDocument.Parse($$"""{"$ref": "{{reference}}"}""").RootElement;
        for (var i = 0; i < 4; i++)
        {
            var data = JsonDocument.Parse((await events.NextAsync(cancel.Token)).Data).RootElement;
            var check = new SchemaCheck(document).Check(data, schema);
            Assert.True(check.Problems.Count == 0, $"event {data} does not fit {reference}:\n{string.Join("\n", check.Problems)}");
        }
        Assert.NotNull(id);
    }
}
