using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.TestSupport;

namespace Lcluster.Rpc.Tests.Etcd;

/// <summary>A real etcd on free ports with a temporary data dir, killed and removed on dispose.</summary>
public sealed class EtcdServer : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), $"lcluster-rpc-etcd-{Guid.NewGuid():N}");
    private Process? _process;
    private readonly List<string> _log = [];

    public string Address { get; private set; } = "";

    /// <summary>etcd's own output, for the evidence in a failure message.</summary>
    public string Log { get { lock (_log) return string.Join('\n', _log.TakeLast(40)); } }

    public async Task InitializeAsync()
    {
        var etcd = Requires.Program("etcd");
        var clientPort = FreePort();
        Address = $"127.0.0.1:{clientPort}";
        const string peer = "http://127.0.0.1:0"; // one member: no peer dials it, so the kernel picks the port
        var start = new ProcessStartInfo(etcd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--name=rpc-test", $"--data-dir={_dataDir}",
                $"--listen-client-urls=http://{Address}", $"--advertise-client-urls=http://{Address}",
                $"--listen-peer-urls={peer}", $"--initial-advertise-peer-urls={peer}",
                $"--initial-cluster=rpc-test={peer}", "--logger=zap", "--log-level=warn",
            },
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {etcd}");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitReadyAsync();
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process?.Dispose();
        _process = null;
        if (Directory.Exists(_dataDir))
            Directory.Delete(_dataDir, recursive: true);
        return Task.CompletedTask;
    }

    private async Task WaitReadyAsync()
    {
        using var channel = GrpcChannel.ForAddress(Address);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await channel.UnaryAsync("/etcdserverpb.KV/Range",
                    new RangeRequest { Key = ByteString.CopyFromUtf8("ready") }, RangeResponse.Parser,
                    new CallOptions(Timeout: TimeSpan.FromSeconds(5)));
                return;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && !_process!.HasExited)
            {
                await Task.Delay(100);
            }
            catch (RpcException ex)
            {
                throw new InvalidOperationException($"etcd on {Address} did not become ready ({ex.Message}); its log:\n{Log}", ex);
            }
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.Add(line);
    }

    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
