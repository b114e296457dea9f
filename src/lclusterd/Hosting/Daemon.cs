using Grpc.HealthCheck;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Prime;
using Lcluster.Daemon.Security;
using Lcluster.Daemon.Store;
using Lcluster.Daemon.Web;
using Lcluster.Etcd;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// One lclusterd node, assembled: etcd (embedded or joined), membership,
/// the node agent, the prime role, the gRPC service; and the order in which
/// they stop so that no record is left wrong.
/// </summary>
/// <param name="executor">What runs the jobs; null (the daemon) is the container runtime. The scale
/// simulator (bench/Scale) gives one that runs nothing, so a whole node is measured without containers.</param>
internal sealed class Daemon(DaemonOptions options, string name, Log log, IJobExecutor? executor = null)
{
    private static readonly TimeSpan EtcdStartWait = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(15);

    public async Task<int> RunAsync(CancellationToken stop)
    {
        if (options.Security.Tls is null && !options.Security.Insecure && !Identity.IsLoopback(options.Listen))
            throw new DaemonStartException($"--listen {options.Listen} is not a loopback address, and the node has no certificate: " +
                "give it one (--tls-ca, --tls-cert, --tls-key; `lclusterd ca` makes them) or, on a network nobody else can reach, --insecure");
        if (HttpEndpoints.Refusal(options.Web, options.Security) is { } refusal)
            throw new DaemonStartException(refusal);
        var openFiles = OpenFileLimit.Raise(ConnectionLimits.DescriptorLimit);
        if (openFiles < ConnectionLimits.DescriptorLimit)
            log.Warn($"open files limited to {openFiles} (wanted {ConnectionLimits.DescriptorLimit}): fewer connections and jobs fit");
        await using var embedded = options.EtcdEndpoints.Count == 0
            ? new EmbeddedEtcd(options.DataDir, name, options.EtcdQuota, log)
            : null;
        if (embedded is not null)
            await embedded.StartAsync();
        var endpoints = embedded is null ? options.EtcdEndpoints : [embedded.ClientUrl];
        var etcdTls = embedded is null ? LoadTls(options.Security.EtcdTls)?.ClientOptions() : null;
        await using var etcd = EtcdClient.Connect(endpoints, new EtcdClientOptions { Log = line => log.Warn($"etcd client: {line}"), Tls = etcdTls });
        await WaitForEtcdAsync(new JobStore(etcd), embedded is null ? $"etcd at {string.Join(",", endpoints)}" : "the embedded etcd", stop);

        var memory = options.MemoryBytes > 0 ? options.MemoryBytes : MachineMemory();
        var policy = DaemonFlags.Policy(options, memory);
        var store = new JobStore(etcd);
        // The name first: a daemon refused it (another live one holds it) must leave that one's containers alone, and
        // its guard would kill everything under the name's cgroups when it goes.
        var record = new NodeRecord
        {
            Name = name,
            Address = options.AdvertiseAddress,
            Slots = options.Slots,
            MemoryBytes = memory,
            MaxLimits = policy.Maximum.ToProto(),
            StartedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        await using var registration = await RegisterAsync(etcd, record, options, log, stop);
        var sandboxOptions = executor is not null ? null : new SandboxOptions
        {
            InitProgram = InitProgram.Install(options.DataDir, log),
            WorkDirectory = Path.Combine(options.DataDir, "sandbox"),
            CgroupParent = $"lcluster/{name}",
            UserNamespaces = options.UserNamespaces(options.Slots),
        };
        // Started before the sandbox and let go after it: the guard kills the containers if this process dies first.
        using var guard = sandboxOptions is null ? null : ContainerGuard.Start(sandboxOptions, Path.Combine(options.DataDir, ContainerLog.FileName), name);
        await using var sandbox = sandboxOptions is null ? null : new Sandbox(sandboxOptions);
        var tls = LoadTls(options.Security.Tls);
        using var channels = new NodeChannels(tls);
        var files = new JobFiles(options.DataDir, name, options.ArtifactCapBytes, store, channels, log);
        if (files.ReapLeftovers() is > 0 and var reaped)
            log.Warn($"node {name}: removed {reaped} half-stored upload(s) or /work director(ies) of an earlier run");
        using var containerLog = ContainerLog.Open(options.DataDir, name);
        try
        {
            containerLog.DaemonStarted(System.Diagnostics.Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow);
        }
        catch (IOException e)
        {
            log.Warn($"node {name}: {e.Message}"); // the line, or the rotation after it, failed: the node runs on
        }
        var node = new NodeContext(name, options, store, registration, executor ?? new SandboxExecutor(sandbox!), new OutputFiles(options.DataDir), log) { Files = files, ContainerLog = containerLog, Guard = guard };
        var agent = new NodeAgent(node);
        var prime = new PrimeRole(node);
        var health = new HealthServiceImpl();
        var nodeHealth = new NodeHealth(health);
        var usage = new UsageView(etcd, log);
        var listings = new ListingCache(store, log);
        var api = new ApiMethods(new JobsApi(node, policy, usage), new ListingApi(node, listings), new OutputApi(node, agent, channels),
            new InputsApi(node), new ArtifactsApi(node, channels));
        var calls = new CallLimits();
        using var web = new WebSurface(options, tls, api, store, calls, log);
        var service = new LclusterdService(api, web.DashboardApi);
        await using var server = ApiServer.Create(options.Listen, options.KeepAlive, options.Security, tls, service, health, web, calls, log);
        try
        {
            await server.StartAsync(stop);
        }
        catch (IOException e)
        {
            throw new DaemonStartException($"cannot listen on {options.Listen} and {options.Security.SocketPath}" +
                $"{(options.Web.Listen is { } http ? $" (HTTP: {http})" : "")}: {e.Message}");
        }
        log.Info($"lclusterd {name} serving on {server.BoundAddresses} (advertised as {options.AdvertiseAddress}), etcd {string.Join(",", endpoints)}, rootfs {options.RootFs}");

        using var work = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var jobWork = new CancellationTokenSource();
        Liveness.TellGuard(node); // before the node agent can start a container: a daemon stopped at once is fenced too
        var tasks = new List<Task>
        {
            Guard("node agent", () => agent.RunAsync(work.Token, jobWork.Token)),
            Guard("prime", () => prime.RunAsync(work.Token)),
            Guard("liveness", () => new Liveness(node, agent, nodeHealth).RunAsync(work.Token)),
            Guard("usage view", () => usage.RunAsync(work.Token)),
            Guard("listing view", () => listings.RunAsync(work.Token)),
            Guard("input sweep", () => new InputSweep(node).RunAsync(work.Token)),
        };
        Background.Run(log, "returning the start's memory", () => StartupMemory.ReleaseAsync(work.Token));
        var failed = await Task.WhenAny(tasks.Append(Task.Delay(Timeout.Infinite, stop)));
        if (!stop.IsCancellationRequested && failed.IsFaulted)
            log.Error($"stopping: {failed.Exception?.GetBaseException().Message}");

        log.Info($"lclusterd {name} stopping: no new work; settling {agent.Running} running job(s)");
        work.Cancel();
        nodeHealth.Set(false);
        var settle = agent.KillAllAsync(KillCause.Shutdown);
        if (await Task.WhenAny(settle, Task.Delay(ShutdownGrace, CancellationToken.None)) != settle) // stop is cancelled already
            log.Warn($"jobs not settled within {ShutdownGrace.TotalSeconds:0}s (etcd unreachable?); their outcomes stay on disk for the next start");
        jobWork.Cancel();
        // Each task's failure was logged by its Guard, and the first one decided the exit code above: here they only end.
        await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
        return failed.IsFaulted && !stop.IsCancellationRequested ? 1 : 0;
    }

    /// <summary>The node's membership; a name another live daemon holds ends the start, saying so.</summary>
    private static async Task<Registration> RegisterAsync(EtcdClient etcd, NodeRecord record, DaemonOptions options, Log log, CancellationToken stop)
    {
        try
        {
            return await Registration.RegisterAsync(etcd, record, options.LeaseTtl, Path.Combine(options.DataDir, "incarnation"), log, stop);
        }
        catch (NodeNameTakenException e)
        {
            throw new DaemonStartException(e.Message);
        }
    }

    private static TlsIdentity? LoadTls(TlsFiles? files)
    {
        try
        {
            return files is null ? null : TlsIdentity.Load(files.CaFile, files.CertFile, files.KeyFile);
        }
        catch (InvalidOperationException e)
        {
            throw new DaemonStartException(e.Message);
        }
    }

    private Task Guard(string what, Func<Task> run) => Task.Run(async () =>
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
            log.Error($"{what} failed: {e}");
            throw;
        }
    });

    /// <summary>
    /// Waits until etcd answers, for at most <see cref="EtcdStartWait"/>: asked again after 50 ms, then twice as long
    /// each time up to half a second, so a node whose etcd is just starting (its own, embedded, answers within
    /// a few hundred milliseconds) is not held back by the poll. It says it waits only once a second has passed: an
    /// etcd that is starting refuses the first requests of every start.
    /// </summary>
    private async Task WaitForEtcdAsync(JobStore store, string which, CancellationToken stop)
    {
        var deadline = Environment.TickCount64 + (long)EtcdStartWait.TotalMilliseconds;
        var sayAfter = Environment.TickCount64 + 1000;
        var said = false;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await store.PingAsync(stop);
                return;
            }
            catch (EtcdException e) when (Environment.TickCount64 < deadline)
            {
                // Unreachable, or not ready yet: an etcd just started may refuse its first requests (no leader yet).
                if (!said && Environment.TickCount64 >= sayAfter)
                {
                    log.Info($"waiting up to {EtcdStartWait.TotalSeconds:0}s for {which} to answer ({e.Message})");
                    said = true;
                }
                await Task.Delay(pause, stop);
                pause = TimeSpan.FromMilliseconds(Math.Min(500, pause.TotalMilliseconds * 2));
            }
            catch (EtcdException e)
            {
                throw new DaemonStartException($"cannot reach {which} after {EtcdStartWait.TotalSeconds:0}s: {e.Message}");
            }
        }
    }

    private static long MachineMemory()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        throw new DaemonStartException("cannot read MemTotal from /proc/meminfo; give --memory");
    }
}
