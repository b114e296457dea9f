using System.Diagnostics;
using System.Text.Json;

namespace Lcluster.Cli.Tests.Interop;

/// <summary>
/// Debian's grpcio (for /usr/bin/python3 only) with stubs generated at test time from
/// protos/lcluster.proto and the standard health and reflection services.
/// </summary>
public sealed class PythonClient : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private const string WellKnownProtos = "/usr/lib/python3/dist-packages/grpc_tools/_proto";
    private readonly string _stubs = Path.Combine(Path.GetTempPath(), $"lcluster-interop-{Guid.NewGuid():N}");

    private static string Here => Path.Combine(AppContext.BaseDirectory, "Interop");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Python) || !Directory.Exists(WellKnownProtos))
            throw new InvalidOperationException(
                $"the interop test needs {Python} with python3-grpcio and python3-grpc-tools: run `make deps`");
        Directory.CreateDirectory(_stubs);
        var protos = Path.Combine(RepoPaths.Root, "protos");
        var standard = Path.Combine(Here, "protos");
        var (code, output) = await RunAsync(TimeSpan.FromSeconds(120), "-m", "grpc_tools.protoc", $"-I{protos}", $"-I{standard}", $"-I{WellKnownProtos}",
            $"--python_out={_stubs}", $"--grpc_python_out={_stubs}",
            Path.Combine(protos, "lcluster.proto"), Path.Combine(standard, "health.proto"), Path.Combine(standard, "reflection.proto"));
        if (code != 0 || !File.Exists(Path.Combine(_stubs, "lcluster_pb2_grpc.py")))
            throw new InvalidOperationException($"generating the Python stubs failed (exit {code}):\n{output}");
    }

    /// <summary>Runs one case of Interop/lcluster_client.py and returns its JSON answer.</summary>
    public async Task<JsonElement> CallAsync(string address, string testCase, string? argument = null)
    {
        string[] args = argument is null ? [Path.Combine(Here, "lcluster_client.py"), address, testCase] : [Path.Combine(Here, "lcluster_client.py"), address, testCase, argument];
        var (code, output) = await RunAsync(TimeSpan.FromSeconds(90), args);
        var json = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (code != 0 || json is null)
            throw new InvalidOperationException($"the Python client failed on '{testCase}' (exit {code}):\n{output}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(_stubs))
            Directory.Delete(_stubs, recursive: true);
        return Task.CompletedTask;
    }

    private async Task<(int Code, string Output)> RunAsync(TimeSpan limit, params string[] arguments)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PYTHONPATH"] = _stubs, ["PYTHONDONTWRITEBYTECODE"] = "1", ["GRPC_VERBOSITY"] = "ERROR" },
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"timed out after {limit.TotalSeconds} s\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, $"{await stdout}{await stderr}");
    }
}
