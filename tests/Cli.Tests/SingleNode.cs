using System.Text.Json;
using Grpc.Net.Client;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// One real lclusterd on the embedded default (its own etcd child), two
/// slots, shared by the tests of a class; with helpers that drive bin/lclusterc.
/// </summary>
public sealed class SingleNode : IAsyncLifetime
{
    public DaemonProcess Daemon { get; private set; } = null!;

    public string Server => Daemon.Server;

    private GrpcChannel _channel = null!;

    /// <summary>A gRPC client of the node's API on its Unix socket, as root: for the tests that speak the API itself.</summary>
    public Lclusterd.LclusterdClient Client => new(_channel);

    public async Task InitializeAsync()
    {
        Daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "solo",
            ExtraArgs = ["--slots=2", "--max-memory=1G", "--max-time=10m", "--default-memory=256M"],
        });
        _channel = NodeChannel.Open(Server);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await Daemon.DisposeAsync();
    }

    public Task<CliResult> RunAsync(params string[] args) => Lcluster.TestSupport.Cli.RunAsync(Server, args);

    public Task<CliResult> RunWithStdinAsync(byte[] stdin, params string[] args) => Lcluster.TestSupport.Cli.RunInAsync(Server, null, stdin, args);

    /// <summary>Adds a job and returns its id (the one line lclusterc prints).</summary>
    public async Task<string> AddAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"addjob failed: {result}\n{Daemon.LogTail()}");
        var id = result.Stdout.Trim();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id);
        return id;
    }

    public async Task<JsonElement> CheckAsync(string id)
    {
        var result = await RunAsync($"--checkjob={id}", "--json");
        Assert.True(result.ExitCode == 0, $"checkjob failed: {result}");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    /// <summary>Polls --checkjob until the job's state is one of <paramref name="states"/>; fails with the record and the log if it never is.</summary>
    public async Task<JsonElement> WaitForStateAsync(string id, TimeSpan within, params string[] states)
    {
        var deadline = DateTime.UtcNow + within;
        JsonElement job;
        do
        {
            job = await CheckAsync(id);
            if (states.Contains(job.GetProperty("state").GetString()))
                return job;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        throw new Xunit.Sdk.XunitException($"job {id} did not reach {string.Join("/", states)} within {within.TotalSeconds}s: {job}\n--- daemon log:\n{Daemon.LogTail()}");
    }

}
