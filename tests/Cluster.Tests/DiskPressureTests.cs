using System.Diagnostics;
using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 8: output over the cap, and a data dir that runs out of space.</summary>
public sealed class DiskPressureTests
{
    [Fact]
    public async Task Output_over_the_cap_is_cut_with_a_marker_the_job_goes_on_and_the_reason_says_so()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "capped", ExtraArgs = ["--output-cap=1M"] });

        var result = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=head -c 3145728 /dev/zero | tr '\\0' x; echo; echo finished >&2", "--wait");
        var id = result.Stdout.Split('\n')[0];
        var job = await CheckAsync(daemon, id);
        var output = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--output={id}");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("finished\n", result.Stderr);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(3 * 1024 * 1024 + 1, job.GetProperty("stdout_bytes").GetInt64());
        Assert.Contains("stdout went over the output cap", job.GetProperty("reason").GetString());
        Assert.InRange(output.Stdout.Length, 1024 * 1024, 1024 * 1024 + 200);
        Assert.Contains("[lcluster: stdout cut at", output.Stdout);
    }

    [Fact]
    public async Task A_data_dir_that_runs_out_of_space_ends_the_job_with_the_reason_and_the_daemon_keeps_serving()
    {
        var dataDir = Directory.CreateTempSubdirectory("lcluster-small-").FullName;
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=24m", "lcluster-test", dataDir);
        try
        {
            await using var etcd = await EtcdServer.StartNewAsync();
            await using (var daemon = await DaemonProcess.StartAsync(new DaemonSettings { Etcd = etcd.ClientUrl, NodeName = "cramped", DataDir = dataDir, ExtraArgs = ["--output-cap=64M"] }))
            {
                var result = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=head -c 41943040 /dev/zero; echo done >&2", "--wait");
                var id = result.Stdout.Split('\n')[0];
                var job = await CheckAsync(daemon, id);

                Assert.Equal(0, result.ExitCode);
                Assert.Equal("succeeded", job.GetProperty("state").GetString());
                Assert.Equal(40L * 1024 * 1024, job.GetProperty("stdout_bytes").GetInt64());
                var reason = job.GetProperty("reason").GetString()!;
                Assert.Contains("on node cramped", reason);
                Assert.Contains("No space left on device", reason);
                Assert.Contains("No space left on device", daemon.LogText());

                // The daemon serves on; once the space is freed, jobs run whole again.
                Assert.Equal(0, (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--nodes")).ExitCode);
                Assert.Equal(0, (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--removejob={id}")).ExitCode);
                var after = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=echo room again", "--wait");
                Assert.Equal(0, after.ExitCode);
                Assert.EndsWith("room again\n", after.Stdout);
                Assert.True(daemon.IsRunning);
            }
        }
        finally
        {
            await RunAsync("umount", "-l", dataDir);
            Directory.Delete(dataDir);
            File.Delete(dataDir + ".log"); // the daemon's log, beside a data dir the test owns
        }
    }

    private static async Task<JsonElement> CheckAsync(DaemonProcess daemon, string id)
    {
        var result = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--checkjob={id}", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed with {process.ExitCode}");
    }
}
