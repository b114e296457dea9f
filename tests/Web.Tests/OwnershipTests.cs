namespace Lcluster.Web.Tests;

/// <summary>Over HTTP as over gRPC, a user who is not an admin sees and acts only on their own jobs.</summary>
[Collection("web node")]
public sealed class OwnershipTests(WebNode node)
{
    [Fact]
    public async Task A_local_user_on_the_http_socket_is_themselves_and_sees_only_their_own_jobs()
    {
        var roots = await node.AddAsync("""{"command": "true", "name": "roots"}""");
        var added = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "POST", "/v1/jobs", """{"command": "true", "name": "nobodys"}""");
        Assert.True(added.Status == 200, added.ToString());
        var mine = added.Json.GetProperty("id").GetString()!;

        var own = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "GET", $"/v1/jobs/{mine}");
        var others = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "GET", $"/v1/jobs/{roots}");
        var removeOthers = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "DELETE", $"/v1/jobs/{roots}");
        var listed = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "GET", "/v1/jobs");
        var listOthers = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "GET", "/v1/jobs?owner=root");
        var watchOthers = await AsNobody.SendAsync(node.Daemon.HttpSocketPath, "GET", $"/v1/events?id={roots}");

        Assert.Equal("nobody", own.Json.GetProperty("owner").GetString());
        Assert.Equal((403, "PERMISSION_DENIED"), (others.Status, others.Json.GetProperty("code").GetString()));
        Assert.Equal((403, "PERMISSION_DENIED"), (removeOthers.Status, removeOthers.Json.GetProperty("code").GetString()));
        Assert.All(listed.Json.GetProperty("jobs").EnumerateArray(), j => Assert.Equal("nobody", j.GetProperty("owner").GetString()));
        Assert.Contains(listed.Json.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetString() == mine);
        Assert.Equal(403, listOthers.Status);
        // Refused with its status, not a stream begun with 200 whose first event is the refusal.
        Assert.True(watchOthers.Status == 403, watchOthers.ToString());
        Assert.Equal("PERMISSION_DENIED", watchOthers.Json.GetProperty("code").GetString());
        Assert.Equal(200, (await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{mine}")).Status); // root is an admin
    }
}
