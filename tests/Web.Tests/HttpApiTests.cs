using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>Every rpc over HTTP/JSON answers as it does over gRPC: the same records, the same behaviour.</summary>
[Collection("web node")]
public sealed class HttpApiTests(WebNode node)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_job_added_checked_listed_read_and_removed_over_http_is_the_job_lclusterc_sees()
    {
        var id = await node.AddAsync("""{"command": "echo out; echo err >&2; exit 3", "name": "over-http", "env": {"A": "1"}, "limits": {"memory_bytes": "67108864", "time_seconds": 30}}""");

        var job = await node.WaitForStateAsync(id, Soon, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED");
        var cli = JsonDocument.Parse(await Cli.OkAsync(node.Daemon.Server, null, $"--checkjob={id}", "--json")).RootElement;
        Assert.Equal("JOB_STATE_FAILED", job.GetProperty("state").GetString());
        Assert.Equal(3, job.GetProperty("exit_code").GetInt32());
        foreach (var field in new[] { "id", "name", "command", "node", "owner", "reason" })
            Assert.Equal(cli.GetProperty(field).GetString(), job.GetProperty(field).GetString());
        Assert.Equal(cli.GetProperty("exit_code").GetInt32(), job.GetProperty("exit_code").GetInt32());
        Assert.Equal("67108864", job.GetProperty("limits").GetProperty("memory_bytes").GetString()); // int64 as a string: protobuf's JSON mapping
        Assert.Equal("1", job.GetProperty("env").GetProperty("A").GetString());

        var failed = await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?state=failed&name=over-http");
        Assert.Equal(200, failed.Status);
        var listed = failed.Json.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal(id, Assert.Single(listed).GetProperty("id").GetString());
        Assert.True(long.Parse(failed.Json.GetProperty("revision").GetString()!) > 0, failed.ToString());

        var stdout = await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}/output");
        var stderr = await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}/output?stream=stderr");
        Assert.Equal((200, "application/octet-stream", "out\n"), (stdout.Status, stdout.MediaType, stdout.Body));
        Assert.Equal("err\n", stderr.Body);

        var removed = await Http.SendAsync(node.Socket, HttpMethod.Delete, $"/v1/jobs/{id}");
        Assert.Equal(200, removed.Status);
        Assert.True(removed.Json.GetProperty("deleted").GetBoolean(), removed.ToString());
        Assert.Equal("JOB_STATE_FAILED", removed.Json.GetProperty("state").GetString());
        Assert.Equal(404, (await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}")).Status);
    }

    [Fact]
    public async Task Nodes_over_http_are_the_nodes_lclusterc_lists()
    {
        var answer = await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/nodes");
        var cli = JsonDocument.Parse(await Cli.OkAsync(node.Daemon.Server, null, "--nodes", "--json")).RootElement;

        var only = Assert.Single(answer.Json.GetProperty("nodes").EnumerateArray().ToList());
        Assert.Equal(node.Daemon.NodeName, only.GetProperty("name").GetString());
        Assert.True(only.GetProperty("prime").GetBoolean());
        Assert.Equal(2, only.GetProperty("slots").GetInt32());
        Assert.Equal(cli[0].GetProperty("memory_bytes").GetInt64().ToString(), only.GetProperty("memory_bytes").GetString());
    }

    [Fact]
    public async Task A_running_job_removed_over_http_ends_cancelled()
    {
        var id = await node.AddAsync("""{"command": "sleep 100"}""");
        await node.WaitForStateAsync(id, Soon, "JOB_STATE_RUNNING");

        var removed = await Http.SendAsync(node.Socket, HttpMethod.Delete, $"/v1/jobs/{id}");

        Assert.Equal(200, removed.Status);
        Assert.Equal("JOB_STATE_CANCELLED", removed.Json.GetProperty("state").GetString());
        Assert.False(removed.Json.GetProperty("deleted").GetBoolean());
        await node.WaitForStateAsync(id, TimeSpan.FromSeconds(5), "JOB_STATE_CANCELLED");
    }

    [Fact]
    public async Task Pages_over_http_follow_next_page_token_until_the_last()
    {
        var name = "paged-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
            ids.Add(await node.AddAsync($$"""{"command": "true", "name": "{{name}}"}"""));

        var seen = new List<string>();
        var token = "";
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs?name={name}&page_size=2&page_token={Uri.EscapeDataString(token)}");
            Assert.Equal(200, page.Status);
            seen.AddRange(page.Json.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()!));
            token = page.Json.GetProperty("next_page_token").GetString()!;
            if (token.Length == 0)
                break;
        }
        ids.Reverse(); // newest first
        Assert.Equal(ids, seen);
    }
}
