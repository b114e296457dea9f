using System.Diagnostics;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The single-member etcd a node runs when no --etcd is given: `etcd` from
/// PATH as a supervised child, data in DATA_DIR/etcd, log in DATA_DIR/etcd.log.
/// Restarted when it dies; stopped when the daemon stops. A predecessor's etcd
/// left running by a crashed daemon (its pid is in DATA_DIR/etcd.pid) is
/// stopped first, so the data dir is never shared.
/// It listens on no port: clients and its (unused) peer endpoint are Unix
/// sockets in the data dir, which only root may enter (0700), so no other
/// local user can read or write it, and no TLS is needed between the daemon
/// and its etcd.
/// </summary>
internal sealed class EmbeddedEtcd : IAsyncDisposable
{
    private readonly string _dataDir;
    private readonly string _name;
    private readonly Log _log;
    private readonly CancellationTokenSource _stopping = new();
    private Process? _process;
    private Task? _supervisor;
    private readonly long _quotaBytes;

    // etcd takes only host:port URLs, and names a Unix socket after the whole host:port, relative to its working
    // directory (the data dir): unix://etcd.sock:0 is the file DATA_DIR/etcd.sock:0.
    private const string ClientSocket = "etcd.sock:0";
    private const string PeerSocket = "etcd-peer.sock:0";

    public EmbeddedEtcd(string dataDir, string name, long quotaBytes, Log log)
    {
        _quotaBytes = quotaBytes;
        _dataDir = Path.GetFullPath(dataDir);
        _name = name;
        _log = log;
        var socket = Path.Combine(_dataDir, ClientSocket);
        if (System.Text.Encoding.UTF8.GetByteCount(socket) > Lcluster.Etcd.EtcdClient.MaxUnixSocketPathBytes)
            throw new DaemonStartException($"--data-dir {_dataDir} is too long for the embedded etcd's socket {socket} " +
                $"(at most {Lcluster.Etcd.EtcdClient.MaxUnixSocketPathBytes} bytes): choose a shorter one, or give an etcd with --etcd");
        ClientUrl = "unix://" + socket;
    }

    /// <summary>The endpoint the daemon dials: unix://DATA_DIR/etcd.sock:0.</summary>
    public string ClientUrl { get; }

    private string PidFile => Path.Combine(_dataDir, "etcd.pid");

    /// <summary>
    /// etcd's flags for its own costs (docs/performance.md, "Running etcd"). --snapshot-count: etcd keeps the raft
    /// entries since its last snapshot in memory, 100,000 of them by default; at 10,000 (as kubeadm runs it) that part
    /// of its heap is a tenth. --backend-batch-interval: etcd 3.4 copies its buffer of uncommitted writes for every
    /// request it answers; committed every 10 ms instead of 100, the buffer stays small.
    /// </summary>
    public static readonly IReadOnlyList<string> CostFlags = ["--snapshot-count=10000", "--backend-batch-interval=10ms"];

    public async Task StartAsync()
    {
        var program = FindEtcd() ?? throw new DaemonStartException(
            "no etcd to run: install it (apt-get install etcd-server, or `make deps`) or join an existing cluster with --etcd=URL");
        StopLeftover();
        RemoveOldCertificates();
        _process = await LaunchAsync(program);
        _supervisor = SuperviseAsync(program);
    }

    /// <summary>Starts etcd bound to this daemon: it dies with the daemon, even one killed with SIGKILL.</summary>
    private async Task<Process> LaunchAsync(string program)
    {
        // A one-member cluster: no peer ever dials it, but etcd insists on a peer URL, so it gets a socket nobody uses.
        const string PeerUrl = "unix://" + PeerSocket;
        // etcd will not bind over the sockets of one that died (address already in use); nothing else uses these names.
        foreach (var socket in new[] { ClientSocket, PeerSocket })
            File.Delete(Path.Combine(_dataDir, socket));
        const string Url = "unix://" + ClientSocket;
        string[] arguments =
        [
            "--name", _name,
            "--data-dir", Path.Combine(_dataDir, "etcd"),
            "--listen-client-urls", Url,
            "--advertise-client-urls", Url,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", $"{_name}={PeerUrl}",
            "--logger", "zap",
            "--log-outputs", Path.Combine(_dataDir, "etcd.log"),
            // No --auto-compaction: the prime compacts the history (--etcd-history, --etcd-quota), for this etcd as for an external one.
            "--quota-backend-bytes", _quotaBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // One member elects itself once an election timeout has passed after it starts: etcd's default of 1 s,
            // randomized, kept a node's start waiting 0.1-1 s for its own etcd. Half of both: a tick every 50 ms.
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
            .. CostFlags,
        ];
        Process process;
        try
        {
            process = await BoundChild.StartAsync(program, arguments, workingDirectory: _dataDir);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            throw new DaemonStartException($"could not start {program}: {e.Message}");
        }
        File.WriteAllText(PidFile, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _log.Info($"embedded etcd started (pid {process.Id}, {ClientUrl}, log {Path.Combine(_dataDir, "etcd.log")})");
        return process;
    }

    private async Task SuperviseAsync(string program)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await _process!.WaitForExitAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _log.Warn($"embedded etcd exited with code {_process.ExitCode}; restarting in {backoff.TotalSeconds:0.#}s (see {Path.Combine(_dataDir, "etcd.log")})");
            try
            {
                await Task.Delay(backoff, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            _process.Dispose();
            _process = null;
            while (!_stopping.IsCancellationRequested)
            {
                try
                {
                    _process = await LaunchAsync(program);
                    break;
                }
                catch (Exception e) when (e is DaemonStartException or IOException or UnauthorizedAccessException)
                {
                    // A full disk, say: keep trying, as for an etcd that dies at once, rather than stop supervising.
                    _log.Warn($"embedded etcd could not be started again ({e.Message}); retrying in {backoff.TotalSeconds:0.#}s");
                    try
                    {
                        await Task.Delay(backoff, _stopping.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Removes the certificates an earlier version made for TLS to its etcd on loopback (DATA_DIR/etcd-tls): the
    /// sockets need none, and a CA key nothing uses should not stay behind.
    /// </summary>
    private void RemoveOldCertificates()
    {
        var dir = Path.Combine(_dataDir, "etcd-tls");
        if (!Directory.Exists(dir))
            return;
        try
        {
            Directory.Delete(dir, recursive: true);
            _log.Info($"removed {dir}: the embedded etcd is reached over a Unix socket now, without certificates");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warn($"could not remove {dir}, certificates nothing uses any more ({e.Message}); remove it by hand");
        }
    }

    private void StopLeftover()
    {
        if (!File.Exists(PidFile) || !int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid))
            return;
        try
        {
            var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            if (exe is null || !Path.GetFileName(exe).StartsWith("etcd", StringComparison.Ordinal) || !cmdline.Contains(Path.Combine(_dataDir, "etcd"), StringComparison.Ordinal))
                return;
            using var leftover = Process.GetProcessById(pid);
            _log.Warn($"stopping the embedded etcd (pid {pid}) a previous lclusterd left running");
            leftover.Kill();
            leftover.WaitForExit(10_000);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            // The pid is gone or is not ours: nothing to stop.
        }
    }

    private static string? FindEtcd()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var path = Path.Combine(dir, "etcd");
            if (File.Exists(path))
                return path;
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        if (_supervisor is not null)
            await _supervisor;
        if (_process is { HasExited: false })
        {
            Signals.Terminate(_process.Id);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
            _log.Info("embedded etcd stopped");
        }
        _process?.Dispose();
        try
        {
            File.Delete(PidFile);
        }
        catch (IOException)
        {
            // The data dir went away under us: nothing to tidy.
        }
    }
}
