using System.Formats.Tar;
using System.Net.Http.Headers;
using System.Text;

namespace Lcluster.Web.Tests;

/// <summary>Files in and out over HTTP: inputs uploaded as one tar body, a job's inputs and artifacts answered as one tar archive.</summary>
[Collection("web node")]
public sealed class FileRouteTests(WebNode node)
{
    private const string Name = "données d'entrée.txt";

    [Fact]
    public async Task Inputs_posted_as_a_tar_reach_the_job_and_its_artifacts_come_back_as_a_tar_with_their_modes()
    {
        var upload = await PostArchiveAsync(Archive((Name, "hello from http\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)));
        Assert.True(upload.Status == 200, upload.ToString());
        var inputs = upload.Json.GetProperty("id").GetString()!;

        var id = await node.AddAsync($$"""
            {"command": "mkdir out && tr a-z A-Z < \"{{Name}}\" > out/upper.txt && chmod 640 out/upper.txt",
             "inputs": "{{inputs}}", "artifacts": ["out/*"]}
            """);
        await node.WaitForStateAsync(id, TimeSpan.FromSeconds(60), "JOB_STATE_SUCCEEDED");

        var artifacts = await GetArchiveAsync($"/v1/jobs/{id}/artifacts");
        var upper = Assert.Single(artifacts, e => e.Name.EndsWith("upper.txt", StringComparison.Ordinal));
        Assert.Equal("HELLO FROM HTTP\n", upper.Text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, upper.Mode);

        var given = await GetArchiveAsync($"/v1/jobs/{id}/inputs");
        var input = Assert.Single(given, e => e.Name.EndsWith(Name, StringComparison.Ordinal));
        Assert.Equal("hello from http\n", input.Text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, input.Mode);
    }

    [Fact]
    public async Task A_body_that_is_no_tar_or_a_name_that_escapes_is_refused_and_artifacts_of_a_running_job_are_not_yet_there()
    {
        var garbage = await PostArchiveAsync(Encoding.ASCII.GetBytes(new string('x', 1024)));
        Assert.Equal(400, garbage.Status);
        Assert.Equal("INVALID_ARGUMENT", garbage.Json.GetProperty("code").GetString());

        var escaping = await PostArchiveAsync(Archive(("../outside", "no", UnixFileMode.UserRead)));
        Assert.Equal(400, escaping.Status);
        Assert.Contains("..", escaping.Json.GetProperty("message").GetString());

        var id = await node.AddAsync("""{"command": "sleep 30", "artifacts": ["x"]}""");
        var early = await Http.SendAsync(node.Socket, HttpMethod.Get, $"/v1/jobs/{id}/artifacts");
        Assert.Equal(409, early.Status); // FAILED_PRECONDITION: collected when the job ends
        Assert.Equal(200, (await Http.SendAsync(node.Socket, HttpMethod.Delete, $"/v1/jobs/{id}")).Status);
    }

    internal static byte[] Archive(params (string Name, string Text, UnixFileMode Mode)[] files)
    {
        using var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text, mode) in files)
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                    Mode = mode,
                });
        }
        return archive.ToArray();
    }

    private Task<HttpAnswer> PostArchiveAsync(byte[] tar) => PostArchiveAsync(node, tar);

    internal static async Task<HttpAnswer> PostArchiveAsync(WebNode node, byte[] tar)
    {
        using var content = new ByteArrayContent(tar);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using var response = await node.Socket.PostAsync("/v1/inputs", content);
        return new HttpAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType,
            await response.Content.ReadAsStringAsync(), response.Headers);
    }

    private async Task<List<(string Name, string Text, UnixFileMode Mode)>> GetArchiveAsync(string path)
    {
        using var response = await node.Socket.GetAsync(path);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True((int)response.StatusCode == 200, $"GET {path}: HTTP {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        Assert.Equal("application/x-tar", response.Content.Headers.ContentType?.MediaType);
        var entries = new List<(string, string, UnixFileMode)>();
        using var reader = new TarReader(new MemoryStream(body));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType != TarEntryType.RegularFile)
                continue;
            using var text = new StreamReader(entry.DataStream!);
            entries.Add((entry.Name, text.ReadToEnd(), entry.Mode));
        }
        return entries;
    }
}
