using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>
/// One real lclusterd for the tests of files in and out of jobs: a small input limit (2 MiB) to go
/// over, its socket open to `nobody`'s group, and a scratch directory for the files tests send and get.
/// </summary>
public sealed class FilesNode : IAsyncLifetime
{
    public const long MaxInput = 2 << 20;

    public DaemonProcess Daemon { get; private set; } = null!;

    public string Scratch { get; } = Directory.CreateTempSubdirectory("lcluster-files-").FullName;

    public string Server => Daemon.Server;

    /// <summary>DATA_DIR/inputs of the node: where uploads wait for their jobs.</summary>
    public string InputsDirectory => Path.Combine(Daemon.DataDir, "inputs");

    public async Task InitializeAsync()
    {
        Daemon = await DaemonProcess.StartAsync(new DaemonSettings
        {
            NodeName = "files",
            SocketGroup = OtherUser.Group,
            ExtraArgs = ["--slots=2", "--max-memory=1G", "--default-memory=256M", "--max-time=10m", $"--max-input={MaxInput}"],
        });
    }

    public async Task DisposeAsync()
    {
        await Daemon.DisposeAsync();
        Directory.Delete(Scratch, recursive: true);
    }

    public Task<CliResult> RunAsync(params string[] args) => Lcluster.TestSupport.Cli.RunAsync(Server, args);

    /// <summary>A new empty directory under the scratch directory.</summary>
    public string NewDirectory(string name) => Directory.CreateDirectory(Path.Combine(Scratch, name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;

    /// <summary>Adds a job, waits for its end with --wait, and returns its id and record.</summary>
    public async Task<(string Id, JsonElement Job, CliResult Run)> RunJobAsync(params string[] args)
    {
        var run = await RunAsync([.. args, "--wait"]);
        var id = run.Stdout.Split('\n')[0].Trim();
        Assert.True(Guid.TryParse(id, out _), $"addjob printed no job id: {run}\n{Daemon.LogTail()}");
        var check = await RunAsync($"--checkjob={id}", "--json");
        Assert.True(check.ExitCode == 0, $"checkjob failed: {check}");
        return (id, JsonDocument.Parse(check.Stdout).RootElement.Clone(), run);
    }

    /// <summary>The files DATA_DIR/inputs holds (uploads and anything half-written).</summary>
    public string[] InputFiles() => Directory.Exists(InputsDirectory) ? Directory.GetFiles(InputsDirectory) : [];

    /// <summary>Waits until <paramref name="done"/> holds, polling; fails with <paramref name="what"/> and the daemon's log when it never does.</summary>
    public Task WaitUntilAsync(Func<bool> done, TimeSpan within, string what) => WaitUntilAsync(() => Task.FromResult(done()), within, what);

    public async Task WaitUntilAsync(Func<Task<bool>> done, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{what} did not happen within {within.TotalSeconds}s\n--- daemon log:\n{Daemon.LogTail()}");
            await Task.Delay(100);
        }
    }
}
