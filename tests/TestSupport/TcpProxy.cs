using System.Net;
using System.Net.Sockets;

namespace Lcluster.TestSupport;

/// <summary>
/// A TCP forwarder a test can cut: clients dial <see cref="Url"/>, bytes go to the upstream.
/// <see cref="Sever"/> resets every connection and refuses new ones until <see cref="Restore"/>,
/// which breaks a client's streams while the server behind stays up. <see cref="DropAnswers"/>
/// keeps carrying requests to the server but throws its answers away, as a network that fails
/// after a request went out does.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];
    private readonly Task _accepting;
    private volatile bool _severed;
    private volatile bool _dropAnswers;

    public TcpProxy(string host, int upstreamPort)
    {
        _upstream = new IPEndPoint(IPAddress.Parse(host), upstreamPort);
        _listener = new TcpListener(IPAddress.Parse(host), 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Url = $"http://{host}:{Port}";
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Url { get; }

    /// <summary>How many client connections the proxy has accepted and forwarded.</summary>
    public int Connections { get; private set; }

    /// <summary>How many forwarded connections are open now (neither side has closed).</summary>
    public int OpenConnections
    {
        get
        {
            lock (_open)
                return _open.Count / 2;
        }
    }

    public void Sever()
    {
        _severed = true;
        lock (_open)
        {
            foreach (var socket in _open)
            {
                socket.LingerState = new LingerOption(true, 0); // close with RST: as abrupt as a dead peer
                socket.Close();
            }
            _open.Clear();
        }
    }

    public void Restore()
    {
        _severed = false;
        _dropAnswers = false;
    }

    /// <summary>From now on, what the server sends back is discarded; requests still reach it.</summary>
    public void DropAnswers() => _dropAnswers = true;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Sever();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (_stop.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return; // disposed
            }
            if (_severed)
            {
                client.LingerState = new LingerOption(true, 0);
                client.Close();
                continue;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await upstream.ConnectAsync(_upstream, _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            client.Close();
            upstream.Dispose();
            return;
        }
        lock (_open)
        {
            _open.Add(client);
            _open.Add(upstream);
            Connections++;
        }
        await Task.WhenAny(PumpAsync(client, upstream, answers: false), PumpAsync(upstream, client, answers: true));
        lock (_open)
        {
            _open.Remove(client);
            _open.Remove(upstream);
        }
        client.Close();
        upstream.Close();
    }

    private async Task PumpAsync(Socket from, Socket to, bool answers)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, _stop.Token);
                if (read == 0)
                    return;
                if (answers && _dropAnswers)
                    continue;
                await to.SendAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side went away (or the test severed it): the other side is closed by the caller.
        }
    }
}
