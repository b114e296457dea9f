using System.Diagnostics;
using Grpc.HealthCheck;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;

namespace Lcluster.Scale;

/// <summary>
/// Many hollow nodes in this one process: each is the daemon's own membership (a lease of its own, its member key),
/// node agent (its two watches, every read and fenced write of a job's life) and liveness loop, configured from the
/// daemon's own flags, with a <see cref="HollowExecutor"/> in place of the container runtime. No API server and no
/// prime role: they only run jobs. Nodes share a few etcd connections, as a thousand machines would not.
/// </summary>
internal sealed class HollowNodes : IAsyncDisposable
{
    private const int NodesPerConnection = 50;
    private const int RegisteringAtOnce = 32;
    /// <summary>The file, in the directory given to <see cref="StartAsync"/>, where every hollow node logs.</summary>
    public const string LogName = "hollow.log";

    private readonly List<EtcdClient> _clients = [];
    private readonly List<(NodeContext Node, NodeAgent Agent)> _nodes = [];
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _work = new();
    private readonly CancellationTokenSource _jobWork = new();
    private readonly NodeChannels _channels = new(null);
    private readonly StreamWriter _logFile;

    private readonly string _logPath;
    private bool _disposed;

    private HollowNodes(string logPath)
    {
        _logPath = logPath;
        _logFile = new StreamWriter(logPath, append: true);
        Log = new Log(_logFile);
    }

    public Log Log { get; }

    public int Count => _nodes.Count;

    /// <summary>From the first lease asked for to the last member key written.</summary>
    public TimeSpan RegistrationTime { get; private set; }

    /// <summary>Registers <paramref name="count"/> nodes named PREFIX-h0000… and starts their agents.</summary>
    public static async Task<HollowNodes> StartAsync(string etcdUrl, int count, string prefix, IReadOnlyList<string> daemonFlags,
        TimeSpan runTime, Ledger ledger, string directory, CancellationToken ct)
    {
        var hollow = new HollowNodes(Path.Combine(directory, LogName));
        try
        {
            for (var i = 0; i < (count + NodesPerConnection - 1) / NodesPerConnection; i++)
                hollow._clients.Add(EtcdClient.Connect([etcdUrl], new EtcdClientOptions { Log = line => hollow.Log.Warn($"etcd client: {line}") }));
            var watch = Stopwatch.StartNew();
            var registered = new (NodeContext, NodeAgent)[count];
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = RegisteringAtOnce, CancellationToken = ct },
                async (i, token) => registered[i] = await hollow.RegisterAsync(i, $"{prefix}-h{i:D4}", etcdUrl, daemonFlags, runTime, ledger, directory, token));
            hollow.RegistrationTime = watch.Elapsed;
            hollow._nodes.AddRange(registered);
            foreach (var (node, agent) in hollow._nodes)
            {
                hollow._tasks.Add(Guard(hollow.Log, node.Name, () => agent.RunAsync(hollow._work.Token, hollow._jobWork.Token)));
                hollow._tasks.Add(Guard(hollow.Log, node.Name, () => new Liveness(node, agent, new NodeHealth(new HealthServiceImpl())).RunAsync(hollow._work.Token)));
            }
            return hollow;
        }
        catch
        {
            await hollow.DisposeAsync();
            throw;
        }
    }

    private async Task<(NodeContext, NodeAgent)> RegisterAsync(int index, string name, string etcdUrl, IReadOnlyList<string> daemonFlags,
        TimeSpan runTime, Ledger ledger, string directory, CancellationToken ct)
    {
        var dataDir = Path.Combine(directory, name);
        Directory.CreateDirectory(dataDir);
        var options = DaemonFlags.Parse([.. daemonFlags, $"--etcd={etcdUrl}", $"--node-name={name}", $"--data-dir={dataDir}"])
            ?? throw new InvalidOperationException("hollow node flags asked for --help");
        var etcd = _clients[index / NodesPerConnection];
        var store = new JobStore(etcd);
        var policy = DaemonFlags.Policy(options, options.MemoryBytes);
        var record = new NodeRecord
        {
            Name = name,
            Address = options.AdvertiseAddress,
            Slots = options.Slots,
            MemoryBytes = options.MemoryBytes,
            MaxLimits = policy.Maximum.ToProto(),
            StartedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        var registration = await Registration.RegisterAsync(etcd, record, options.LeaseTtl, Path.Combine(dataDir, "incarnation"), Log, ct);
        var files = new JobFiles(options.DataDir, name, options.ArtifactCapBytes, store, _channels, Log);
        var executor = new HollowExecutor(runTime, job => ledger.Started(name, job));
        // Every node keeps one; a hollow job is logged like a container, with pid 0.
        var node = new NodeContext(name, options, store, registration, executor, new OutputFiles(options.DataDir), Log)
        {
            Files = files, ContainerLog = ContainerLog.Open(options.DataDir, name),
        };
        return (node, new NodeAgent(node));
    }

    private static Task Guard(Log log, string name, Func<Task> run) => Task.Run(async () =>
    {
        try
        {
            await run();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            log.Error($"hollow node {name} failed: {e}");
            throw;
        }
    });

    /// <summary>Errors the hollow nodes logged (a failed part of a node's agent is one).</summary>
    public IReadOnlyList<string> Errors()
    {
        _logFile.Flush();
        return File.ReadLines(_logPath).Where(l => l.Contains(" error ", StringComparison.Ordinal)).Take(20).ToList();
    }

    /// <summary>Times a hollow node registered again because etcd said its lease was gone (it stalled past the TTL).</summary>
    public int LeasesLost()
    {
        _logFile.Flush();
        return File.ReadLines(_logPath).Count(l => l.Contains(" registered again as incarnation ", StringComparison.Ordinal));
    }

    /// <summary>Stops as the daemon does: no new work, running jobs settled, then every lease revoked.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _work.CancelAsync();
        await Task.WhenAll(_nodes.Select(n => n.Agent.KillAllAsync(KillCause.Shutdown)));
        await _jobWork.CancelAsync();
        await Task.WhenAll(_tasks).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var (node, _) in _nodes)
            await node.Registration.DisposeAsync();
        foreach (var client in _clients)
            await client.DisposeAsync();
        _channels.Dispose();
        _work.Dispose();
        _jobWork.Dispose();
        await _logFile.DisposeAsync();
    }
}
