using System.Diagnostics;
using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Web.Tests;

/// <summary>The README's promise, kept with curl itself: submit, check, list a page at a time, follow output, cancel, and a JSON error.</summary>
[Collection("web node")]
public sealed class CurlTests(WebNode node)
{
    [Fact]
    public async Task Curl_alone_submits_checks_lists_by_page_follows_output_and_cancels()
    {
        var added = await CurlAsync("--json", """{"command": "for i in 1 2 3; do echo line $i; sleep 0.3; done", "name": "by-curl"}""", "/v1/jobs");
        var id = JsonDocument.Parse(added.Body).RootElement.GetProperty("id").GetString()!;

        var followed = await CurlAsync($"/v1/jobs/{id}/output?follow=true");
        Assert.Equal("line 1\nline 2\nline 3\n", followed.Body);
        var job = JsonDocument.Parse((await CurlAsync($"/v1/jobs/{id}")).Body).RootElement;
        Assert.Equal("JOB_STATE_SUCCEEDED", job.GetProperty("state").GetString());
        Assert.Equal("by-curl", job.GetProperty("name").GetString());

        var second = JsonDocument.Parse((await CurlAsync("--json", """{"command": "true", "name": "by-curl"}""", "/v1/jobs")).Body).RootElement.GetProperty("id").GetString();
        var first = JsonDocument.Parse((await CurlAsync("/v1/jobs?name=by-curl&page_size=1")).Body).RootElement;
        var token = first.GetProperty("next_page_token").GetString()!;
        Assert.NotEmpty(token);
        var next = JsonDocument.Parse((await CurlAsync($"/v1/jobs?name=by-curl&page_size=1&page_token={Uri.EscapeDataString(token)}")).Body).RootElement;
        Assert.Equal(
            new[] { second, id }.Order(),
            new[] { first, next }.Select(p => Assert.Single(p.GetProperty("jobs").EnumerateArray().ToList()).GetProperty("id").GetString()).Order());

        var sleeper = JsonDocument.Parse((await CurlAsync("--json", """{"command": "sleep 300"}""", "/v1/jobs")).Body).RootElement.GetProperty("id").GetString()!;
        await node.WaitForStateAsync(sleeper, TimeSpan.FromSeconds(30), "JOB_STATE_RUNNING");
        var cancelled = JsonDocument.Parse((await CurlAsync("-X", "DELETE", $"/v1/jobs/{sleeper}")).Body).RootElement;
        Assert.Equal("JOB_STATE_CANCELLED", cancelled.GetProperty("state").GetString());

        var refused = await CurlAsync(expectedStatus: 400, "--json", """{"command": ""}""", "/v1/jobs");
        var error = JsonDocument.Parse(refused.Body).RootElement;
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("code").GetString());
        Assert.Contains("command is empty", error.GetProperty("message").GetString());
        Assert.Equal(404, (await CurlAsync(expectedStatus: 404, "/v1/jobs/00000000-0000-0000-0000-000000000000")).Status);
    }

    private Task<(int Status, string Body)> CurlAsync(params string[] args) => CurlAsync(200, args);

    /// <summary>curl on the node's HTTP socket; the last argument is the path. Its body, and the status (checked).</summary>
    private async Task<(int Status, string Body)> CurlAsync(int expectedStatus, params string[] args)
    {
        var info = new ProcessStartInfo(Requires.Program("curl")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-sS", "--max-time", "60", "--unix-socket", node.Daemon.HttpSocketPath, "-w", "\n%{http_code}" })
            info.ArgumentList.Add(a);
        foreach (var a in args[..^1])
            info.ArgumentList.Add(a);
        info.ArgumentList.Add("http://localhost" + args[^1]);
        using var curl = Process.Start(info)!;
        var stdout = curl.StandardOutput.ReadToEndAsync();
        var stderr = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        var output = await stdout;
        Assert.True(curl.ExitCode == 0, $"curl {string.Join(' ', args)}: exit {curl.ExitCode}: {await stderr}");
        var cut = output.LastIndexOf('\n');
        var status = int.Parse(output[(cut + 1)..]);
        Assert.True(status == expectedStatus, $"curl {string.Join(' ', args)}: HTTP {status}: {output[..cut]}");
        return (status, output[..cut]);
    }
}
