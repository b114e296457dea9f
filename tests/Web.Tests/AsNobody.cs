using System.Diagnostics;
using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>
/// An HTTP call on a node's HTTP socket made by the user nobody (uid 65534, group nogroup, through setpriv), with
/// Python's http.client: the node sees nobody as the peer, as it would any local user.
/// </summary>
public static class AsNobody
{
    private const string Script = """
        import http.client, json, socket, sys
        class Unix(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(sys.argv[1])
        c = Unix("localhost", timeout=60)
        body = sys.argv[4] if len(sys.argv) > 4 else None
        c.request(sys.argv[2], sys.argv[3], body=body, headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        print(json.dumps({"status": r.status, "body": r.read().decode()}))
        """;

    public static async Task<HttpAnswer> SendAsync(string socket, string method, string path, string? json = null)
    {
        var info = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Script, socket, method, path })
            info.ArgumentList.Add(a);
        if (json is not null)
            info.ArgumentList.Add(json);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the HTTP call as nobody failed ({process.ExitCode}): {await stderr}");
        var answer = JsonDocument.Parse(await stdout).RootElement;
        return new HttpAnswer(answer.GetProperty("status").GetInt32(), null, answer.GetProperty("body").GetString()!, new HttpResponseMessage().Headers);
    }
}
