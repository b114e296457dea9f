using System.Diagnostics;

namespace Lcluster.TestSupport;

/// <summary>
/// Submits many jobs fast from inside a lab namespace, where the test
/// process cannot open sockets: Debian's grpcio with stubs generated from
/// protos/lcluster.proto at test time, pipelined futures. Also an independent
/// client of the public API.
/// </summary>
public static class BulkSubmit
{
    private const string Python = "/usr/bin/python3";
    private const string WellKnownProtos = "/usr/lib/python3/dist-packages/grpc_tools/_proto";
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static string? _stubs;

    private const string Script = """
        import sys, grpc, lcluster_pb2 as pb, lcluster_pb2_grpc as rpc
        server, count, command, retries = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        stub = rpc.LclusterdStub(grpc.insecure_channel(server))
        futures = [stub.AddJob.future(pb.AddJobRequest(command=command, retries=retries), timeout=60) for _ in range(count)]
        for f in futures:
            print(f.result().id)
        """;

    /// <summary>The ids of <paramref name="count"/> jobs running <paramref name="command"/>, submitted through <paramref name="server"/>.</summary>
    public static async Task<IReadOnlyList<string>> AddAsync(string @namespace, string server, int count, string command, int retries = 0)
    {
        var stubs = await StubsAsync();
        var info = NetworkLab.Inside(@namespace, Python, Path.Combine(stubs, "bulk_submit.py"), server, count.ToString(), command, retries.ToString());
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["PYTHONPATH"] = stubs;
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["GRPC_VERBOSITY"] = "ERROR";
        var (code, stdout, stderr) = await RunAsync(info);
        var ids = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (code != 0 || ids.Length != count)
            throw new InvalidOperationException($"bulk submit of {count} jobs failed (exit {code}, {ids.Length} ids): {stderr}");
        return ids;
    }

    private static async Task<string> StubsAsync()
    {
        await Once.WaitAsync();
        try
        {
            if (_stubs is not null)
                return _stubs;
            if (!File.Exists(Python) || !Directory.Exists(WellKnownProtos))
                throw new InvalidOperationException($"bulk submission needs {Python} with python3-grpcio and python3-grpc-tools: run `make deps`");
            var dir = Directory.CreateTempSubdirectory("lcluster-bulk-").FullName;
            var protos = Path.Combine(RepoPaths.Root, "protos");
            var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-m", "grpc_tools.protoc", $"-I{protos}", $"-I{WellKnownProtos}", $"--python_out={dir}", $"--grpc_python_out={dir}", Path.Combine(protos, "lcluster.proto") })
                info.ArgumentList.Add(a);
            var (code, _, stderr) = await RunAsync(info);
            if (code != 0)
                throw new InvalidOperationException($"generating Python stubs failed: {stderr}");
            await File.WriteAllTextAsync(Path.Combine(dir, "bulk_submit.py"), Script);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
            return _stubs = dir;
        }
        finally
        {
            Once.Release();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(ProcessStartInfo info)
    {
        info.UseShellExecute = false;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
