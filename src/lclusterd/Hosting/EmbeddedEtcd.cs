using System.Diagnostics;
using Lcluster.Daemon.Security;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The single-member etcd a node runs when no --etcd is given: `etcd` from
/// PATH as a supervised child, loopback only, data in DATA_DIR/etcd, log in
/// DATA_DIR/etcd.log. Restarted when it dies; stopped when the daemon stops.
/// A predecessor's etcd left running by a crashed daemon (its pid is in
/// DATA_DIR/etcd.pid) is stopped first, so the data dir is never shared.
/// It speaks TLS only and takes only clients with a certificate of its own
/// CA (DATA_DIR/etcd-tls, root-only files), so no other local user can read
/// or write it.
/// </summary>
internal sealed class EmbeddedEtcd : IAsyncDisposable
{
    private readonly string _dataDir;
    private readonly string _name;
    private readonly int _clientPort;
    private readonly Log _log;
    private readonly CancellationTokenSource _stopping = new();
    private Process? _process;
    private Task? _supervisor;

    public EmbeddedEtcd(string dataDir, string name, int clientPort, Log log)
    {
        _dataDir = dataDir;
        _name = name;
        _clientPort = clientPort;
        _log = log;
    }

    public string ClientUrl => $"https://127.0.0.1:{_clientPort}";

    /// <summary>The certificate the daemon presents to it, and its CA.</summary>
    public TlsFiles ClientTls => new(Path.Combine(TlsDir, CertificateAuthority.CertificateFile), Path.Combine(TlsDir, "client.crt"), Path.Combine(TlsDir, "client.key"));

    private TlsFiles ServerTls => new(Path.Combine(TlsDir, CertificateAuthority.CertificateFile), Path.Combine(TlsDir, "server.crt"), Path.Combine(TlsDir, "server.key"));

    private string TlsDir => Path.Combine(_dataDir, "etcd-tls");

    private string PidFile => Path.Combine(_dataDir, "etcd.pid");

    public async Task StartAsync()
    {
        var program = FindEtcd() ?? throw new DaemonStartException(
            "no etcd to run: install it (apt-get install etcd-server, or `make deps`) or join an existing cluster with --etcd=URL");
        StopLeftover();
        MakeCertificates();
        _process = await LaunchAsync(program);
        _supervisor = SuperviseAsync(program);
    }

    /// <summary>Starts etcd bound to this daemon: it dies with the daemon, even one killed with SIGKILL.</summary>
    private async Task<Process> LaunchAsync(string program)
    {
        // A one-member cluster on loopback: no peer ever dials it, so the kernel picks the peer port
        // (a fixed one could be taken, e.g. as some connection's ephemeral port, and etcd would not start).
        const string PeerUrl = "https://127.0.0.1:0";
        var server = ServerTls;
        string[] arguments =
        [
            "--name", _name,
            "--data-dir", Path.Combine(_dataDir, "etcd"),
            "--listen-client-urls", ClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", $"{_name}={PeerUrl}",
            "--logger", "zap",
            "--log-outputs", Path.Combine(_dataDir, "etcd.log"),
            // No --auto-compaction: the prime compacts the history (--etcd-history), for this etcd as for an external one.
            "--quota-backend-bytes", (4L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Clients and peers alike must show a certificate of the embedded CA; the daemon holds the only client one.
            "--cert-file", server.CertFile, "--key-file", server.KeyFile, "--client-cert-auth", "--trusted-ca-file", server.CaFile,
            "--peer-cert-file", server.CertFile, "--peer-key-file", server.KeyFile, "--peer-client-cert-auth", "--peer-trusted-ca-file", server.CaFile,
        ];
        Process process;
        try
        {
            process = await BoundChild.StartAsync(program, arguments);
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
            _process = await LaunchAsync(program);
        }
    }

    /// <summary>The embedded CA, etcd's server certificate and the daemon's client certificate, made once per data dir.</summary>
    private void MakeCertificates()
    {
        if (File.Exists(ServerTls.KeyFile) && File.Exists(ClientTls.KeyFile))
            return;
        var ca = CertificateAuthority.OpenOrCreate(TlsDir, $"lclusterd {_name} embedded etcd");
        ca.Issue("etcd", CertificateRole.EtcdServer, ["127.0.0.1"], TlsDir, "server");
        ca.Issue("lclusterd", CertificateRole.EtcdClient, [], TlsDir, "client");
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
