using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lcluster.TestSupport;

/// <summary>How to run a test's etcd.</summary>
public sealed record EtcdServerOptions
{
    /// <summary>The address etcd listens on for clients and peers (e.g. a veth address like 10.77.0.1).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Run etcd inside this network namespace (a NetworkLab hub); its ports are then fixed (2379, 2380).</summary>
    public string? Namespace { get; init; }

    /// <summary>How often etcd sends progress notifications to watches that ask for them (etcd's default is 10 min).</summary>
    public TimeSpan? WatchProgressNotifyInterval { get; init; }

    /// <summary>
    /// This server as one member of a cluster (<see cref="EtcdCluster"/> fills it in): its name, where it listens
    /// for its peers, its ports, and every member's peer URL. Null: a single member on free ports.
    /// </summary>
    public EtcdMembership? Membership { get; init; }

    /// <summary>Go's GOGC for etcd (docs/performance.md, "Running etcd"); null: Go's default, as the embedded etcd runs.</summary>
    public string? GoGarbageTarget { get; init; }

    /// <summary>etcd's space quota (--quota-backend-bytes); null: etcd's default, 2 GiB.</summary>
    public long? QuotaBytes { get; init; }
}

/// <summary>One member's place in a multi-member etcd: its name, ports, peer address and the cluster it starts in.</summary>
public sealed record EtcdMembership(string Name, int ClientPort, string PeerHost, int PeerPort, string InitialCluster, string Token)
{
    public string PeerUrl => $"http://{PeerHost}:{PeerPort}";

    /// <summary>etcd's defaults (100 ms heartbeats, 1 s election timeout): short enough to fail over fast, long enough not to flap on a loaded machine.</summary>
    public int HeartbeatMs { get; init; } = 100;
    public int ElectionTimeoutMs { get; init; } = 1000;
}

/// <summary>
/// A real etcd (Debian's /usr/bin/etcd): a single member on free ports, or one member of an
/// <see cref="EtcdCluster"/>, with its own temporary data dir; it can be stopped, killed,
/// paused and started again on the same ports and data. Disposal kills it and removes the
/// dir. Its output is in <see cref="LogPath"/>.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    /// <summary>etcd's flags for its costs, as the daemon gives its embedded one (Cluster.Tests holds them equal).</summary>
    public static readonly IReadOnlyList<string> CostFlags = ["--snapshot-count=10000", "--backend-batch-interval=10ms"];

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly EtcdServerOptions _options;
    private readonly string _etcd;
    private readonly List<Process> _helpers = [];
    private Process? _process;
    private Process? _watchdog;

    private EtcdServer(EtcdServerOptions options, string etcd, string directory)
    {
        _options = options;
        _etcd = etcd;
        Directory = directory;
    }

    public string Host => _options.Host;
    public int ClientPort { get; private set; }

    /// <summary>The member's name in its cluster.</summary>
    public string Name => _options.Membership?.Name ?? $"test-{ClientPort}";

    /// <summary>What clients dial, e.g. http://127.0.0.1:40123.</summary>
    public string ClientUrl => $"http://{Host}:{ClientPort}";

    public string Directory { get; }
    public string DataDir => Path.Combine(Directory, "data");
    public string LogPath => Path.Combine(Directory, "etcd.log");
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>etcd's process id while it runs.</summary>
    public int Pid => IsRunning ? _process!.Id : throw new InvalidOperationException($"etcd at {ClientUrl} is not running");

    /// <summary>Starts a fresh etcd and returns once it answers /health.</summary>
    public static async Task<EtcdServer> StartNewAsync(EtcdServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var etcd = Requires.Program("etcd");
        var directory = System.IO.Directory.CreateTempSubdirectory("lcluster-etcd-").FullName;
        var server = new EtcdServer(options ?? new EtcdServerOptions(), etcd, directory);
        try
        {
            // Free ports are only free until someone else binds them: a few tries absorb that race.
            for (var attempt = 1; ; attempt++)
            {
                // Inside a fresh namespace nothing else listens: the standard ports are free. A cluster's member
                // has the ports its cluster chose (and the cluster tries again on fresh ones).
                server.ClientPort = server._options.Membership?.ClientPort ?? (server._options.Namespace is null ? FreePort(server.Host) : 2379);
                try
                {
                    await server.StartAsync(cancellationToken);
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3 && server._options.Membership is null && server.LogTail(20).Contains("address already in use"))
                {
                    if (System.IO.Directory.Exists(server.DataDir))
                        System.IO.Directory.Delete(server.DataDir, recursive: true);
                }
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts etcd (again) on the same ports and data dir; returns once it answers /health.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
            throw new InvalidOperationException($"etcd at {ClientUrl} is already running");
        File.AppendAllText(LogPath, $"--- lcluster test: starting etcd at {DateTime.UtcNow:O}{Environment.NewLine}");
        var start = new ProcessStartInfo("/bin/sh")
        {
            // exec keeps the pid etcd's own, so Kill hits etcd and not a shell.
            ArgumentList = { "-c", $"exec {InNamespace}{Quote(_etcd)} {string.Join(' ', Arguments().Select(Quote))} >>{Quote(LogPath)} 2>&1" },
            UseShellExecute = false,
        };
        if (_options.GoGarbageTarget is { } target)
            start.Environment["GOGC"] = target;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_etcd}");
        StartWatchdog(_process.Id);
        await WaitReadyAsync(_process, cancellationToken);
    }

    /// <summary>Asks etcd to shut down (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (!IsRunning)
            return;
        using (var kill = Process.Start("/bin/kill", ["-TERM", _process!.Id.ToString()]))
            await kill.WaitForExitAsync();
        await WaitExitAsync(_process);
        StopWatchdog();
    }

    /// <summary>Freezes etcd (SIGSTOP): its sockets stay open but nothing answers, as a stalled machine's would.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a paused etcd run on (SIGCONT).</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (!IsRunning)
            throw new InvalidOperationException($"etcd at {ClientUrl} is not running");
        using var kill = Process.Start("/bin/kill", [$"-{signal}", _process!.Id.ToString()]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed ({kill.ExitCode})");
    }

    /// <summary>Kills etcd at once (SIGKILL), as a crash would, and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (!IsRunning)
            return;
        _process!.Kill();
        await WaitExitAsync(_process);
        StopWatchdog();
    }

    /// <summary>The last lines of etcd's output, for failure messages.</summary>
    public string LogTail(int lines = 30)
    {
        if (!File.Exists(LogPath))
            return "(etcd wrote no output)";
        var all = File.ReadAllLines(LogPath);
        return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Runs a test body; if it fails, the failure carries the tail of etcd's output as evidence.</summary>
    public async Task ExplainFailureAsync(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex)
        {
            throw new EtcdTestFailure($"{ex.GetType().Name}: {ex.Message}{Environment.NewLine}--- etcd at {ClientUrl} (log {LogPath}) output ends:{Environment.NewLine}{LogTail()}", ex);
        }
    }

    /// <summary>Starts etcdctl against this server (for independent checks); disposal kills it if still running.</summary>
    public Process StartEtcdctl(params string[] arguments)
    {
        var start = new ProcessStartInfo(Requires.Program("etcdctl"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["ETCDCTL_API"] = "3" },
        };
        start.ArgumentList.Add($"--endpoints={ClientUrl}");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start etcdctl");
        lock (_helpers)
            _helpers.Add(process);
        return process;
    }

    /// <summary>Runs etcdctl to completion; returns its output or throws with it when it fails.</summary>
    public async Task<string> EtcdctlAsync(params string[] arguments)
    {
        var process = StartEtcdctl(arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        await process.WaitForExitAsync(timeout.Token);
        lock (_helpers)
            _helpers.Remove(process);
        using (process)
        {
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"etcdctl {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
            return await stdout;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process != null)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
        StopWatchdog();
        List<Process> helpers;
        lock (_helpers)
            helpers = [.. _helpers];
        foreach (var helper in helpers)
        {
            helper.Kill(entireProcessTree: true); // a no-op for one that has exited
            helper.Dispose();
        }
        if (System.IO.Directory.Exists(Directory))
            System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>
    /// A shell that outlives this test process only to clean up after it: if the test host dies
    /// (killed, Ctrl-C) before disposal, it kills etcd and removes the temp dir within a second.
    /// </summary>
    private void StartWatchdog(int etcdPid)
    {
        StopWatchdog();
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; kill -9 {etcdPid} 2>/dev/null; rm -rf {Quote(Directory)}";
        _watchdog = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start the etcd watchdog shell");
    }

    private void StopWatchdog()
    {
        if (_watchdog == null)
            return;
        _watchdog.Kill();
        _watchdog.Dispose();
        _watchdog = null;
    }

    private IEnumerable<string> Arguments()
    {
        var client = $"http://{Host}:{ClientPort}";
        var member = _options.Membership;
        var peer = member?.PeerUrl ?? $"http://{Host}:0"; // one member: no peer dials it, so the kernel picks the port
        var arguments = new List<string>
        {
            $"--name={Name}", $"--data-dir={DataDir}",
            $"--listen-client-urls={client}", $"--advertise-client-urls={client}",
            $"--listen-peer-urls={peer}", $"--initial-advertise-peer-urls={peer}",
            // Read only when the data dir is new: a member started again rejoins from its data.
            $"--initial-cluster={member?.InitialCluster ?? $"{Name}={peer}"}", "--initial-cluster-state=new",
            $"--initial-cluster-token={member?.Token ?? $"lcluster-test-{Path.GetFileName(Directory)}"}",
            // A short election timeout makes a fresh single member lead (and answer) sooner.
            $"--heartbeat-interval={member?.HeartbeatMs ?? 100}", $"--election-timeout={member?.ElectionTimeoutMs ?? 500}",
            "--logger=zap", "--log-outputs=stderr",
        };
        if (member is not null)
            arguments.Add("--pre-vote"); // as docs/performance.md advises: a member cut off and back does not depose a leader the others still follow
        arguments.AddRange(CostFlags);
        if (_options.QuotaBytes is { } quota)
            arguments.Add($"--quota-backend-bytes={quota}");
        if (_options.WatchProgressNotifyInterval is { } interval)
            arguments.Add($"--experimental-watch-progress-notify-interval={(int)interval.TotalMilliseconds}ms");
        return arguments;
    }

    private async Task WaitReadyAsync(Process process, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
        var lastError = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"etcd at {ClientUrl} exited with {process.ExitCode} while starting; its output ends:{Environment.NewLine}{LogTail()}");
            try
            {
                var health = _options.Namespace is null
                    ? await http.GetStringAsync($"{ClientUrl}/health", cancellationToken)
                    : await HealthInNamespaceAsync(cancellationToken);
                if (health.Contains("\"health\":\"true\""))
                    return;
                lastError = health;
            }
            catch (HttpRequestException ex)
            {
                lastError = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                lastError = "/health did not answer within 2 s";
            }
            await Task.Delay(50, cancellationToken);
        }
        throw new InvalidOperationException($"etcd at {ClientUrl} was not healthy within {ReadyTimeout.TotalSeconds} s ({lastError}); its output ends:{Environment.NewLine}{LogTail()}");
    }

    // The host cannot reach an address inside the lab: ask from within the namespace.
    private async Task<string> HealthInNamespaceAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", _options.Namespace!, Requires.Program("etcdctl"), $"--endpoints={ClientUrl}", "--command-timeout=2s", "endpoint", "health" })
            info.ArgumentList.Add(a);
        info.Environment["ETCDCTL_API"] = "3";
        using var probe = Process.Start(info)!;
        var output = probe.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = probe.StandardError.ReadToEndAsync(cancellationToken);
        await probe.WaitForExitAsync(cancellationToken);
        if (probe.ExitCode != 0)
            throw new HttpRequestException($"health probe in {_options.Namespace}: {(await error).Trim()}");
        // etcdctl says "URL is healthy: ..."; answer in /health's words.
        var said = await output + await error;
        return said.Contains("is healthy") ? "{\"health\":\"true\"}" : said;
    }

    private async Task WaitExitAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"etcd at {ClientUrl} (pid {process.Id}) did not exit within {ExitTimeout.TotalSeconds} s; its output ends:{Environment.NewLine}{LogTail()}");
        }
    }

    // `ip netns exec` joins the namespace and execs, so the pid stays etcd's.
    private string InNamespace => _options.Namespace is { } ns ? $"ip netns exec {Quote(ns)} " : "";

    private static int FreePort(string host)
    {
        using var listener = new TcpListener(IPAddress.Parse(host), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";
}

/// <summary>A test failure that carries etcd's output.</summary>
public sealed class EtcdTestFailure(string message, Exception inner) : Exception(message, inner);
