using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lcluster.TestSupport;

/// <summary>
/// Opens TCP connections from inside a lab's network namespace for a client running in the
/// test process (which stays in the host's namespace): a socket belongs to the namespace of
/// the thread that creates it, so one thread of ours joins the namespace for good and creates
/// every socket; connecting and the traffic then happen on any thread. Plug
/// <see cref="ConnectAsync"/> into a SocketsHttpHandler's ConnectCallback.
/// </summary>
public sealed class NamespaceDialer : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    private readonly BlockingCollection<TaskCompletionSource<Socket>> _requests = new();
    private readonly Thread _thread;

    public NamespaceDialer(string @namespace)
    {
        Namespace = @namespace;
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Serve(joined)) { IsBackground = true, Name = $"dialer in {@namespace}" };
        _thread.Start();
        joined.Task.GetAwaiter().GetResult(); // throws when the namespace cannot be joined
    }

    public string Namespace { get; }

    /// <summary>A connection to the endpoint the handler asks for, made from inside the namespace.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var made = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add(made, cancellationToken);
        var socket = await made.Task;
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void Serve(TaskCompletionSource joined)
    {
        try
        {
            using var ns = File.OpenHandle("/run/netns/" + Namespace);
            if (setns((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
                throw new InvalidOperationException($"setns into {Namespace} failed: errno {Marshal.GetLastPInvokeError()}");
            joined.SetResult();
        }
        catch (Exception e)
        {
            joined.SetException(e);
            return;
        }
        foreach (var request in _requests.GetConsumingEnumerable())
        {
            try
            {
                request.SetResult(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            }
            catch (SocketException e)
            {
                request.SetException(e);
            }
        }
    }

    public void Dispose()
    {
        _requests.CompleteAdding();
        _thread.Join();
        _requests.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);
}
