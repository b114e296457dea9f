using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Lcluster.TestSupport;

/// <summary>How to start one lclusterd for a test.</summary>
public sealed record DaemonSettings
{
    /// <summary>--etcd; null = the daemon's embedded etcd.</summary>
    public string? Etcd { get; init; }
    /// <summary>--namespace: the node runs inside this network namespace.</summary>
    public string? Namespace { get; init; }
    /// <summary>The address to listen on (a lab address inside a namespace); 127.0.0.1 by default.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>--node-name, made unique to this test process (see <see cref="DaemonProcess.NodeName"/>).</summary>
    public string? NodeName { get; init; }
    /// <summary>A data dir to reuse (restarts); null = a fresh temp dir.</summary>
    public string? DataDir { get; init; }
    /// <summary>--socket-group: the group besides root that may use the node's socket.</summary>
    public string? SocketGroup { get; init; }
    /// <summary>A cluster CA (made by `lclusterd ca init`): the node gets a certificate from it and serves TCP with mutual TLS.</summary>
    public string? CertificateAuthority { get; init; }
    /// <summary>--http-listen on a free port of <see cref="Host"/> (the HTTP socket is always there).</summary>
    public bool HttpListen { get; init; }
    /// <summary>The daemon binary to run; null = the repository's bin/lclusterd.</summary>
    public string? Program { get; init; }
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];
}

/// <summary>
/// A real bin/lclusterd for a test: started as root with a temp data dir and
/// its log in a file; waited for until it serves; stopped (SIGTERM), killed
/// (SIGKILL) or restarted on the same data dir. Disposal kills it and removes
/// the data dir it made.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly TimeSpan ServeTimeout = TimeSpan.FromSeconds(60);
    private readonly DaemonSettings _settings;
    private readonly bool _ownsDataDir;
    /// <summary>Its job cgroups are another daemon's too (a start under a name that daemon holds): disposing leaves them.</summary>
    private bool _sharesCgroups;
    private Process? _process;

    private static readonly string RunId = Guid.NewGuid().ToString("N")[..4];
    private const long FirstUserNamespaceId = 1L << 30, UserNamespaceSpan = 1L << 23; // 128 blocks of 65536: 2 * 32 slots + 64
    private const int UserNamespaceSpans = 380; // up to 2^32 - 2^23
    private static int _unnamed;

    private DaemonProcess(DaemonSettings settings, string dataDir, int port, bool ownsDataDir, int httpPort = 0)
    {
        HttpPort = httpPort;
        _settings = settings;
        // Node names are host-wide (the node's cgroups are lcluster/NAME, and a starting daemon reaps what it finds
        // there), so two test runs on one machine, or two tests, never share one.
        var number = Interlocked.Increment(ref _unnamed);
        NodeName = $"{settings.NodeName ?? "node" + number}-{RunId}";
        // Job user namespaces map onto host id blocks a daemon hands out itself: daemons side by side get their own.
        UserNamespaceFirstId = FirstUserNamespaceId + (long)((Environment.ProcessId * 17 + number) % UserNamespaceSpans) * UserNamespaceSpan;
        DataDir = dataDir;
        Port = port;
        _ownsDataDir = ownsDataDir;
    }

    public string DataDir { get; }
    public string NodeName { get; }
    public long UserNamespaceFirstId { get; }
    public int Port { get; }
    /// <summary>Where its embedded etcd listens: a Unix socket in the (root-only) data dir.</summary>
    public string EmbeddedEtcdSocket => Path.Combine(DataDir, "etcd.sock:0");
    /// <summary>The --http-listen port; 0 without <see cref="DaemonSettings.HttpListen"/>.</summary>
    public int HttpPort { get; }
    public string HttpAddress => $"{_settings.Host}:{HttpPort}";
    /// <summary>Where lclusterc reaches the node in tests: its Unix socket (as root, an admin).</summary>
    public string Server => "unix:" + SocketPath;

    /// <summary>Its TCP endpoint (mutual TLS when it has a certificate).</summary>
    public string Address => $"{_settings.Host}:{Port}";

    /// <summary>Beside the data dir, not in it: the data dir is root's only, and other users' tests reach the socket.</summary>
    public string SocketPath => Path.Combine(Path.GetDirectoryName(DataDir)!, Path.GetFileName(DataDir) + ".sock");

    /// <summary>The HTTP socket the daemon puts beside its gRPC socket.</summary>
    public string HttpSocketPath => Path.Combine(Path.GetDirectoryName(DataDir)!, Path.GetFileName(DataDir) + "-http.sock");

    /// <summary>The node's certificate files, when it has a CA.</summary>
    public (string Ca, string Cert, string Key)? Tls => _settings.CertificateAuthority is { } ca
        ? (Path.Combine(ca, "nodes", NodeName, "ca.crt"), Path.Combine(ca, "nodes", NodeName, "node.crt"), Path.Combine(ca, "nodes", NodeName, "node.key"))
        : null;
    public string? Namespace => _settings.Namespace;
    public string LogPath => Path.Combine(DataDir, "..", Path.GetFileName(DataDir) + ".log");
    public int Pid => _process?.Id ?? 0;
    public bool IsRunning => _process is { HasExited: false };

    public static async Task<DaemonProcess> StartAsync(DaemonSettings settings)
    {
        Requires.Root();
        var program = settings.Program ?? RepoPaths.Bin("lclusterd");
        if (!File.Exists(program))
            throw new InvalidOperationException($"{program} is missing: run `make` first");
        // On the host the ports are picked free, then bound by the daemon: another process may take one in
        // between (an ephemeral port of some connection). That start is retried on fresh ports, never hidden.
        for (var attempt = 1; ; attempt++)
        {
            var owns = settings.DataDir is null;
            var dataDir = settings.DataDir ?? Directory.CreateTempSubdirectory("lcluster-node-").FullName;
            var port = settings.Namespace is null ? FreePort() : 64051;
            var httpPort = settings.HttpListen ? (settings.Namespace is null ? FreePort() : 64080) : 0;
            var daemon = new DaemonProcess(settings, dataDir, port, owns, httpPort);
            try
            {
                daemon.Start();
                await daemon.WaitServingAsync();
                return daemon;
            }
            catch (InvalidOperationException) when (attempt < 3 && settings.Namespace is null && daemon.LostAPortRace())
            {
                await daemon.DisposeAsync();
            }
            catch
            {
                // A start that failed (its message has the log's tail) leaves no process, data directory or cgroup behind.
                await daemon.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs a daemon that must refuse to start, for at most <paramref name="bound"/>, and gives its exit code (-1: it
    /// was still running, and was stopped) and log. Its data dir and log go; the job cgroups under its name are left:
    /// the name may be another live daemon's.
    /// </summary>
    public static async Task<(int ExitCode, string Log)> RunRefusedAsync(DaemonSettings settings, TimeSpan bound)
    {
        Requires.Root();
        var dataDir = Directory.CreateTempSubdirectory("lcluster-node-").FullName;
        await using var daemon = new DaemonProcess(settings, dataDir, FreePort(), ownsDataDir: true) { _sharesCgroups = true };
        daemon.Start();
        using var timeout = new CancellationTokenSource(bound);
        await daemon._process!.WaitForExitAsync(timeout.Token).ContinueWith(_ => { }, TaskScheduler.Default); // a timeout shows as -1
        return (daemon._process.HasExited ? daemon._process.ExitCode : -1, daemon.LogText());
    }

    /// <summary>The daemon could not bind a port it was given.</summary>
    private bool LostAPortRace() => LogText().Contains("address already in use", StringComparison.OrdinalIgnoreCase);

    private void Start()
    {
        var args = new List<string>
        {
            $"--rootfs={RepoPaths.RootFs}",
            $"--data-dir={DataDir}",
            $"--listen={_settings.Host}:{Port}",
            $"--socket={SocketPath}",
        };
        if (HttpPort > 0)
            args.Add($"--http-listen={_settings.Host}:{HttpPort}");
        if (_settings.SocketGroup is { } group)
            args.Add($"--socket-group={group}");
        if (Tls is { } tls)
        {
            if (!File.Exists(tls.Key))
                CertificateTool.Run("ca", "node", $"--name={NodeName}", $"--dir={_settings.CertificateAuthority}", $"--address={_settings.Host}");
            args.AddRange([$"--tls-ca={tls.Ca}", $"--tls-cert={tls.Cert}", $"--tls-key={tls.Key}"]);
        }
        if (_settings.Etcd is { } etcd)
            args.Add($"--etcd={etcd}");
        if (_settings.Namespace is { } ns)
            args.Add($"--namespace={ns}");
        args.Add($"--node-name={NodeName}");
        if (!_settings.ExtraArgs.Any(a => a.StartsWith("--userns-first-id", StringComparison.Ordinal) || a == "--no-userns"))
            args.Add($"--userns-first-id={UserNamespaceFirstId}");
        args.AddRange(_settings.ExtraArgs);
        File.AppendAllText(LogPath, $"{StartMarker}{string.Join(' ', args)}{Environment.NewLine}");
        var info = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", $"exec {Quote(_settings.Program ?? RepoPaths.Bin("lclusterd"))} {string.Join(' ', args.Select(Quote))} >>{Quote(LogPath)} 2>&1" },
            UseShellExecute = false,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start lclusterd");
    }

    /// <summary>Starts the daemon again on the same data dir and port (after a stop or a kill).</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
            throw new InvalidOperationException("lclusterd is still running");
        _process?.Dispose();
        Start();
        await WaitServingAsync();
    }

    public async Task WaitServingAsync()
    {
        var deadline = DateTime.UtcNow + ServeTimeout;
        CliResult? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"lclusterd exited with {_process.ExitCode} while starting; its log ends:{Environment.NewLine}{LogTail()}");
            last = await Cli.RunInAsync(Server, Namespace, null, "--nodes");
            // Answering is not the end of its start: the socket's mode and group are set right after, then it logs "serving".
            if (last.ExitCode == 0 && ServingLogged())
                return;
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"lclusterd at {Server} did not serve within {ServeTimeout.TotalSeconds}s (last: {last}); its log ends:{Environment.NewLine}{LogTail()}");
    }

    private const string StartMarker = "--- test: starting lclusterd ";

    /// <summary>Whether this start of the daemon (the log's last section) has said it is serving.</summary>
    private bool ServingLogged()
    {
        var log = LogText();
        var start = log.LastIndexOf(StartMarker, StringComparison.Ordinal);
        return log.IndexOf(" serving on ", Math.Max(0, start), StringComparison.Ordinal) >= 0;
    }

    /// <summary>SIGTERM, then the exit code (within the bound, else the test fails).</summary>
    public async Task<int> TerminateAsync(TimeSpan bound)
    {
        using (var kill = Process.Start("/bin/kill", ["-TERM", Pid.ToString()]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process!.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"lclusterd did not exit within {bound.TotalSeconds}s of SIGTERM; its log ends:{Environment.NewLine}{LogTail()}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!IsRunning)
            return;
        _process!.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>Freezes the daemon (SIGSTOP): alive, its pipes and sockets open, doing nothing, as a stalled process would.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused daemon run on (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        if (!IsRunning)
            throw new InvalidOperationException($"lclusterd {NodeName} is not running");
        using var kill = Process.Start("/bin/kill", [$"-{signal}", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} {Pid} failed ({kill.ExitCode})");
    }

    public string LogText() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "(no log)";

    public string LogTail(int lines = 40)
    {
        if (!File.Exists(LogPath))
            return "(no log)";
        var all = File.ReadAllLines(LogPath);
        return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            using (var kill = Process.Start("/bin/kill", ["-TERM", Pid.ToString()]))
                await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
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
        _process?.Dispose();
        // A daemon that died leaves its guard killing its containers and writing their guard-kill lines into the
        // data dir: deleting the dir under it would race with those lines.
        WaitForGuard();
        // What a SIGKILLed daemon could not clean up: its job cgroups and its embedded etcd.
        if (_ownsDataDir)
            StopLeftoverEtcd();
        if (!_sharesCgroups)
        {
            HostCgroups.RemoveTree($"lcluster/{NodeName}");
            HostCgroups.RemoveIfEmpty("lcluster");
        }
        if (_ownsDataDir && Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
            File.Delete(LogPath);
            File.Delete(SocketPath); // a killed daemon leaves it
            File.Delete(HttpSocketPath);
        }
    }

    /// <summary>Waits, for at most 15 s (the guard gives up on containers after 10), until this daemon's guard has exited.</summary>
    private void WaitForGuard()
    {
        var containerLog = Path.Combine(DataDir, "containers.log"); // on the guard's command line: which daemon it guards
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline && Directory.EnumerateDirectories("/proc").Any(dir => IsGuard(dir, containerLog)))
            Thread.Sleep(50);
    }

    private static bool IsGuard(string procDir, string containerLog)
    {
        try
        {
            var args = File.ReadAllText(Path.Combine(procDir, "cmdline")).Split('\0');
            return args.Contains("__lcluster-guard") && args.Contains(containerLog);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // not a process, or one that ended while it was read
        }
    }

    private void StopLeftoverEtcd()
    {
        var pidFile = Path.Combine(DataDir, "etcd.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
            return;
        try
        {
            if (!File.ReadAllText($"/proc/{pid}/cmdline").Contains(DataDir, StringComparison.Ordinal))
                return;
            using var etcd = Process.GetProcessById(pid);
            etcd.Kill();
            etcd.WaitForExit(10_000);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException)
        {
            // Gone already.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";
}
