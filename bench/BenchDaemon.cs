using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>A real bin/lclusterd (and, when asked, a real etcd) for the cluster benchmarks.</summary>
internal sealed class BenchDaemon : IAsyncDisposable
{
    private readonly Process _process;

    private BenchDaemon(Process process, string nodeName, string server, string dataDir)
    {
        _process = process;
        NodeName = nodeName;
        Server = server; // its Unix socket: the bench runs as root, an admin
        DataDir = dataDir;
        Channel = NodeChannel.Open(server);
        Client = new Lclusterd.LclusterdClient(Channel);
    }

    public string NodeName { get; }
    public string Server { get; }
    public string DataDir { get; }
    public GrpcChannel Channel { get; }
    public Lclusterd.LclusterdClient Client { get; }
    public int Pid => _process.Id;

    public static async Task<BenchDaemon> StartAsync(BenchContext context, string name, params string[] extra)
    {
        var program = Path.Combine(context.Repo, "bin", "lclusterd");
        if (!File.Exists(program))
            throw new InvalidOperationException($"{program} is missing: run `make`");
        var dataDir = Path.Combine(context.Scratch, name);
        var nodeName = $"{context.Id}-{name}";
        Directory.CreateDirectory(dataDir);
        var port = FreePort();
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        var args = new List<string>
        {
            $"--rootfs={context.RootFs}", $"--data-dir={dataDir}", $"--listen=127.0.0.1:{port}",
            $"--node-name={nodeName}", $"--socket={dataDir}.sock",
        };
        args.AddRange(extra);
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec '{program}' {string.Join(' ', args.Select(a => $"'{a}'"))} >>'{dataDir}.log' 2>&1");
        var daemon = new BenchDaemon(Process.Start(info)!, nodeName, $"unix:{dataDir}.sock", dataDir);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await daemon.Client.ListNodesAsync(new ListNodesRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                return daemon;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && !daemon._process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Resident memory of the daemon process (not its etcd, not its containers).</summary>
    public long RssBytes()
    {
        var line = File.ReadAllLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>CPU time (user + system) the daemon has used so far.</summary>
    public TimeSpan DaemonCpu() => ProcessCpu(Pid);

    /// <summary>CPU time of its embedded etcd (a child process named etcd), zero when it has none.</summary>
    public TimeSpan EtcdCpu()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (stat.Contains("(etcd)", StringComparison.Ordinal) && int.Parse(StatFields(stat)[1]) == Pid)
                    return CpuOf(stat);
            }
            catch (IOException)
            {
                // A process that ended while the list was read.
            }
        }
        return TimeSpan.Zero;
    }

    /// <summary>CPU time every core of the machine spent busy (not idle, not waiting for I/O) so far.</summary>
    public static TimeSpan MachineCpu()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        var busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]; // user nice system irq softirq steal
        return TimeSpan.FromSeconds(busy / (double)TicksPerSecond);
    }

    private const int TicksPerSecond = 100; // USER_HZ on Linux

    private static TimeSpan ProcessCpu(int pid) => CpuOf(File.ReadAllText($"/proc/{pid}/stat"));

    /// <summary>utime + stime of a /proc/PID/stat line.</summary>
    private static TimeSpan CpuOf(string stat)
    {
        var fields = StatFields(stat);
        return TimeSpan.FromSeconds((long.Parse(fields[11]) + long.Parse(fields[12])) / (double)TicksPerSecond);
    }

    /// <summary>The fields after the command name (which may hold spaces): [0] is the state, [1] the parent pid.</summary>
    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    public void Kill() => _process.Kill();

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!_process.HasExited)
        {
            using (var term = Process.Start("/bin/kill", ["-TERM", Pid.ToString()]))
                await term.WaitForExitAsync();
            if (!_process.WaitForExit(20_000))
                _process.Kill();
        }
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A standalone etcd for benchmarks with several daemons.</summary>
internal sealed class BenchEtcd : IDisposable
{
    private readonly Process _process;

    private BenchEtcd(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static async Task<BenchEtcd> StartAsync(BenchContext context)
    {
        var client = BenchDaemon.FreePort();
        var dir = Path.Combine(context.Scratch, "etcd");
        var url = $"http://127.0.0.1:{client}";
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec etcd --name=bench --data-dir='{dir}' --listen-client-urls={url} --advertise-client-urls={url} " +
            "--listen-peer-urls=http://127.0.0.1:0 --initial-advertise-peer-urls=http://127.0.0.1:0 " + // one member: the kernel picks
            $"--initial-cluster=bench=http://127.0.0.1:0 >'{dir}.log' 2>&1");
        var etcd = new BenchEtcd(Process.Start(info)!, url);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await http.GetStringAsync($"{url}/health")).Contains("true"))
                    return etcd;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not up yet.
            }
            await Task.Delay(100);
        }
        etcd.Dispose();
        throw new InvalidOperationException($"etcd did not start (see {dir}.log)");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
