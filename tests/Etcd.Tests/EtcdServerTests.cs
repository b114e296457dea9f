using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Etcd.Tests;

/// <summary>The etcd fixture itself: it restarts on its data, and cleans up even when its test process dies.</summary>
public sealed class EtcdServerTests
{
    [Fact]
    public async Task A_restarted_etcd_keeps_its_ports_and_data_and_disposal_removes_everything()
    {
        var etcd = await EtcdServer.StartNewAsync();
        int pid, port = etcd.ClientPort;
        await using (var client = EtcdClient.Connect([etcd.ClientUrl]))
        {
            await client.PutAsync("/kept", "yes");
            await etcd.StopAsync();
            Assert.False(etcd.IsRunning);
            await etcd.StartAsync();
            pid = etcd.Pid;
            Assert.Equal("yes", Assert.Single((await client.GetAsync("/kept")).Kvs).ValueText);
        }

        await etcd.DisposeAsync();

        Assert.Equal(port, etcd.ClientPort);
        Assert.False(Directory.Exists(etcd.Directory), $"{etcd.Directory} is left behind");
        Assert.False(Directory.Exists($"/proc/{pid}"), $"etcd (pid {pid}) is still running");
    }

    [Fact]
    public async Task An_etcd_whose_test_process_is_killed_is_killed_and_removed_too()
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Requires.Program("dotnet");
        using var holder = Process.Start(new ProcessStartInfo(dotnet)
        {
            ArgumentList = { typeof(HelperProcess).Assembly.Location, "etcd" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        using var bound = new CancellationTokenSource(Waits.Long);
        var line = await holder.StandardOutput.ReadLineAsync(bound.Token).AsTask().Within("the holder's etcd") ?? "";
        var parts = line.Split(' ');
        Assert.True(parts is ["etcd", _, _], $"unexpected holder output: {line}");
        var (pid, dir) = (int.Parse(parts[1]), parts[2]);
        Assert.True(Directory.Exists($"/proc/{pid}"), $"etcd (pid {pid}) is not running");

        holder.Kill(); // SIGKILL: no disposal runs in the holder
        await holder.WaitForExitAsync();
        var deadline = DateTime.UtcNow + Waits.Long;
        while ((Directory.Exists($"/proc/{pid}") || Directory.Exists(dir)) && DateTime.UtcNow < deadline)
            await Task.Delay(100);

        Assert.False(Directory.Exists($"/proc/{pid}"), $"etcd (pid {pid}) outlived its test process");
        Assert.False(Directory.Exists(dir), $"{dir} outlived its test process");
    }
}
