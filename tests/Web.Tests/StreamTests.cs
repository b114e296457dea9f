using System.Text;
using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>The streaming rpcs over HTTP: a job's output as its raw bytes, followed live; job changes as server-sent events.</summary>
[Collection("web node")]
public sealed class StreamTests(WebNode node)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Followed_output_arrives_while_the_job_runs_byte_for_byte_and_ends_with_the_job()
    {
        var id = await node.AddAsync("""{"command": "printf 'first\\n\\001\\377'; sleep 2; echo last"}""");
        using var response = await node.Socket.GetAsync($"/v1/jobs/{id}/output?follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync();

        var first = await ReadAtLeastAsync(body, 8, TimeSpan.FromSeconds(20));
        var whileRunning = await node.WaitForStateAsync(id, TimeSpan.FromSeconds(1), "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED");
        var rest = new MemoryStream();
        await body.CopyToAsync(rest).WaitAsync(TimeSpan.FromSeconds(20));
        var finished = await node.WaitForStateAsync(id, TimeSpan.FromSeconds(1), "JOB_STATE_SUCCEEDED");

        Assert.Equal("JOB_STATE_RUNNING", whileRunning.GetProperty("state").GetString()); // the first bytes came before the end
        Assert.Equal([.. "first\n"u8, 0x01, 0xff, .. "last\n"u8], [.. first, .. rest.ToArray()]);
        Assert.Equal("JOB_STATE_SUCCEEDED", finished.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Job_changes_come_as_server_sent_events_and_a_reconnect_resumes_after_the_last_event_id()
    {
        var listing = await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?page_size=1");
        var from = long.Parse(listing.Json.GetProperty("revision").GetString()!) + 1;
        using var cancel = new CancellationTokenSource(Soon);
        using var response = await node.Socket.GetAsync($"/v1/events?start_revision={from}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new ServerSentEvents(await response.Content.ReadAsStreamAsync(cancel.Token));

        var id = await node.AddAsync("""{"command": "true"}""");
        var seen = new List<(string Id, JsonElement Data)>();
        while (!seen.Any(e => Is(e.Data, id, "JOB_STATE_SUCCEEDED")))
        {
            var next = await events.NextAsync(cancel.Token);
            Assert.Equal("job", next.Event);
            seen.Add((next.Id!, JsonDocument.Parse(next.Data).RootElement.Clone()));
        }
        var states = seen.Where(e => e.Data.GetProperty("job").GetProperty("id").GetString() == id).Select(e => e.Data.GetProperty("job").GetProperty("state").GetString()).ToList();
        Assert.Equal(["JOB_STATE_QUEUED", "JOB_STATE_SCHEDULED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"], states);
        Assert.All(seen, e => Assert.Equal(e.Id, $"{e.Data.GetProperty("revision").GetString()}/{e.Data.GetProperty("job").GetProperty("id").GetString()}"));

        // A browser reconnecting sends the last id it saw: the stream goes on with the change after it.
        var queued = seen.First(e => Is(e.Data, id, "JOB_STATE_QUEUED"));
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/v1/events?start_revision={from}");
        again.Headers.Add("Last-Event-ID", queued.Id);
        using var resumed = await node.Socket.SendAsync(again, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var more = new ServerSentEvents(await resumed.Content.ReadAsStreamAsync(cancel.Token));
        var after = await more.NextAsync(cancel.Token);
        Assert.Equal(seen[seen.IndexOf(queued) + 1].Id, after.Id);
    }

    [Fact]
    public async Task A_stream_broken_inside_a_revision_of_many_changes_resumes_with_the_rest_of_it_nothing_twice()
    {
        // The 16 tasks of an array are made in one Txn: one revision, 16 changes. Resumed from the revision after the
        // first event's, as ids once were, the other 15 were skipped.
        var listing = await Http.SendAsync(node.Socket, HttpMethod.Get, "/v1/jobs?page_size=1");
        var from = long.Parse(listing.Json.GetProperty("revision").GetString()!) + 1;
        using var cancel = new CancellationTokenSource(Soon);
        var first = await node.AddAsync("""{"command": "sleep 30", "array": {"first": 0, "last": 15}}""");
        var tasks = new HashSet<string>();
        string lastId;
        using (var response = await node.Socket.GetAsync($"/v1/events?start_revision={from}", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        using (var events = new ServerSentEvents(await response.Content.ReadAsStreamAsync(cancel.Token)))
        {
            var one = await events.NextAsync(cancel.Token);
            tasks.Add(JsonDocument.Parse(one.Data).RootElement.GetProperty("job").GetProperty("id").GetString()!);
            lastId = one.Id!;
        }

        using var again = new HttpRequestMessage(HttpMethod.Get, $"/v1/events?start_revision={from}");
        again.Headers.Add("Last-Event-ID", lastId);
        using var resumed = await node.Socket.SendAsync(again, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var more = new ServerSentEvents(await resumed.Content.ReadAsStreamAsync(cancel.Token));
        var revision = lastId[..lastId.IndexOf('/')];
        while (tasks.Count < 16)
        {
            var next = await more.NextAsync(cancel.Token);
            var data = JsonDocument.Parse(next.Data).RootElement;
            if (data.GetProperty("revision").GetString() != revision)
                break; // the rest of the array's revision did not come
            Assert.True(tasks.Add(data.GetProperty("job").GetProperty("id").GetString()!), $"{next.Id} came twice");
        }

        Assert.Equal(16, tasks.Count);
        Assert.Contains(first, tasks);
        foreach (var id in tasks)
            await Http.SendAsync(node.Socket, HttpMethod.Delete, $"/v1/jobs/{id}");
    }

    private static bool Is(JsonElement data, string id, string state) =>
        data.GetProperty("job").GetProperty("id").GetString() == id && data.GetProperty("job").GetProperty("state").GetString() == state;

    private static async Task<byte[]> ReadAtLeastAsync(Stream body, int count, TimeSpan within)
    {
        var buffer = new byte[count];
        await body.ReadExactlyAsync(buffer).AsTask().WaitAsync(within);
        return buffer;
    }
}

/// <summary>A text/event-stream read event by event: the id, event and data fields of each (comments and retry skipped).</summary>
public sealed class ServerSentEvents(Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body, Encoding.UTF8);

    public sealed record Message(string? Id, string Event, string Data);

    public async ValueTask<Message> NextAsync(CancellationToken ct)
    {
        string? id = null, name = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(ct) ?? throw new EndOfStreamException("the event stream ended");
            if (line.Length == 0)
            {
                if (data.Length > 0)
                    return new Message(id, name ?? "message", data.ToString());
                continue;
            }
            var colon = line.IndexOf(':');
            var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].TrimStart(' '));
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data.Append(value); break;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
