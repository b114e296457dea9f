using System.Diagnostics;
using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Web;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Scale;

/// <summary>
/// An API node of the simulated cluster: a process of its own running the daemon itself (<see cref="Lcluster.Daemon.Hosting.Daemon"/>:
/// registration, node agent, prime role, liveness, the gRPC API on TCP and its Unix socket), with a
/// <see cref="HollowExecutor"/> in place of the container runtime. Its own process, so the prime's CPU can be
/// read from /proc apart from everything else. Jobs it starts are appended to a file, one id a line, for the ledger.
/// </summary>
internal sealed class ApiNode : IAsyncDisposable
{
    public const string Verb = "api-node";
    private const string RunFlag = "--hollow-run-ms=";
    private const string StartedFlag = "--started-file=";
    /// <summary>Its jobs end only once a line comes on its stdin (<see cref="OpenGateAsync"/>).</summary>
    private const string GatedFlag = "--gated";
    private static readonly TimeSpan ServeTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private bool _disposed;

    private ApiNode(Process process, string name, string socket, string logPath, string startedPath)
    {
        _process = process;
        Name = name;
        Socket = socket;
        LogPath = logPath;
        StartedPath = startedPath;
        Channel = NodeChannel.Open("unix:" + socket);
        Client = new Lclusterd.LclusterdClient(Channel);
    }

    public string Name { get; }
    public string Socket { get; }
    public string LogPath { get; }
    public string StartedPath { get; }
    public int Pid => _process.Id;
    public GrpcChannel Channel { get; }
    public Lclusterd.LclusterdClient Client { get; }

    /// <summary>Starts one (this program again, in <see cref="Verb"/> mode) and returns once it serves.</summary>
    public static async Task<ApiNode> StartAsync(string name, string etcdUrl, IReadOnlyList<string> daemonFlags, TimeSpan runTime, bool gated,
        string directory, CancellationToken ct)
    {
        var dataDir = Path.Combine(directory, name);
        Directory.CreateDirectory(dataDir);
        var socket = dataDir + ".sock";
        var log = dataDir + ".log";
        var started = dataDir + ".started";
        var (program, first) = Self();
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var a in first.Concat([Verb, $"{RunFlag}{(long)runTime.TotalMilliseconds}", $"{StartedFlag}{started}"]).Concat(gated ? [GatedFlag] : []).Concat(daemonFlags)
                     .Concat([$"--etcd={etcdUrl}", $"--node-name={name}", $"--data-dir={dataDir}", $"--socket={socket}", $"--listen=127.0.0.1:{FreePort()}"]))
            info.ArgumentList.Add(a);
        info.Environment["LCLUSTER_SCALE_LOG"] = log;
        // This program's runtime settings are the harness's (server GC, for a thousand hollow nodes in one process);
        // an API node is the daemon, so it collects as the shipped daemon does (src/lclusterd/lclusterd.csproj):
        // workstation GC, not concurrent, a 1 MiB first budget, idle thread-pool workers that block, not spin.
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_gcConcurrent"] = "0";
        info.Environment["DOTNET_GCgen0size"] = "100000";
        info.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
        var node = new ApiNode(Process.Start(info) ?? throw new InvalidOperationException("could not start an API node"), name, socket, log, started);
        var deadline = DateTime.UtcNow + ServeTimeout;
        while (true)
        {
            if (node._process.HasExited)
                throw new InvalidOperationException($"API node {name} exited with {node._process.ExitCode} while starting; see {log}");
            try
            {
                await node.Client.ListNodesAsync(new ListNodesRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct);
                return node;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, ct);
            }
        }
    }

    /// <summary>How to start this program again: its apphost, or `dotnet Scale.dll`.</summary>
    private static (string Program, string[] First)Self()
    {
        var dll = typeof(ApiNode).Assembly.Location;
        var host = Path.Combine(Path.GetDirectoryName(dll)!, "Scale");
        if (File.Exists(host))
            return (host, []);
        return (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet", [dll]);
    }

    /// <summary>The <see cref="Verb"/> mode: the daemon with a hollow executor, until SIGTERM or SIGINT.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var runMs = long.Parse(args.First(a => a.StartsWith(RunFlag, StringComparison.Ordinal))[RunFlag.Length..]);
        var startedPath = args.First(a => a.StartsWith(StartedFlag, StringComparison.Ordinal))[StartedFlag.Length..];
        var gated = args.Contains(GatedFlag);
        var options = DaemonFlags.Parse(args.Where(a => !a.StartsWith(RunFlag, StringComparison.Ordinal) && !a.StartsWith(StartedFlag, StringComparison.Ordinal) && a != GatedFlag).ToList())
            ?? throw new UsageException("api-node: --help is not for this mode");
        using var logFile = new StreamWriter(Environment.GetEnvironmentVariable("LCLUSTER_SCALE_LOG") ?? throw new UsageException("api-node: LCLUSTER_SCALE_LOG is not set"), append: true);
        var log = new Log(logFile);
        log.Info($"api node: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, latency mode {System.Runtime.GCSettings.LatencyMode}");
        using var started = new StreamWriter(startedPath, append: true);
        var startedLock = new Lock();
        var gate = gated ? Task.Run(() => Console.In.ReadLine()) : null;
        var executor = new HollowExecutor(TimeSpan.FromMilliseconds(runMs), job =>
        {
            lock (startedLock)
                started.WriteLine(job);
        }, gate);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        try
        {
            return await new Lcluster.Daemon.Hosting.Daemon(options, options.NodeName ?? throw new UsageException("api-node: give --node-name"), log, executor).RunAsync(stop.Token);
        }
        catch (DaemonStartException e)
        {
            log.Error(e.Message);
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>Lets the jobs of a gated node end (those waiting, and all after).</summary>
    public async Task OpenGateAsync()
    {
        await _process.StandardInput.WriteLineAsync("open");
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Rounds this node has made as prime so far (lcluster_prime_rounds_total of its /metrics; 0 before the first).</summary>
    public async Task<long> PrimeRoundsAsync(CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = UnixSocketConnector.To(WebOptions.SocketBeside(Socket)) });
        return (long)MetricsText.Series(await http.GetStringAsync("http://localhost/metrics", ct))("lcluster_prime_rounds_total");
    }

    /// <summary>The job ids this node started (read once it stopped).</summary>
    public IReadOnlyList<string> Started() => File.Exists(StartedPath) ? File.ReadAllLines(StartedPath) : [];

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        Channel.Dispose();
        if (!_process.HasExited)
        {
            using (var term = Process.Start("/bin/kill", ["-TERM", Pid.ToString()]))
                await term!.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
