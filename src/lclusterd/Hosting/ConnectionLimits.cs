using System.Collections.Concurrent;
using System.Net;
using Lcluster.Daemon.Api;
using Microsoft.AspNetCore.Connections;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// How many connections one endpoint of the node holds at once, in all and per peer (a TCP peer is its IP address,
/// a socket peer its user), so that no caller, however many connections it opens, takes the file descriptors the
/// node needs for its jobs, etcd and its other callers. Each endpoint has its own: a TCP flood never locks local
/// users out. Root on the socket is not counted. A connection over either limit is closed at once, unanswered; a
/// peer that keeps hitting its limit is logged once a minute, not once per connection.
/// </summary>
internal sealed class ConnectionLimits(string endpoint, int total, int perPeer, Log log)
{
    /// <summary>The TCP endpoint's limits, and the socket's: far below the descriptors the node asks for (<see cref="DescriptorLimit"/>).</summary>
    public const int TcpTotal = 4096, SocketTotal = 1024, PerPeer = 256;

    /// <summary>Open files the node asks for at start: the connections, the jobs' pipes and files, etcd, and a margin.</summary>
    public const int DescriptorLimit = 65536;

    /// <summary>How long an idle connection (no stream open) is kept.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);
    private const long Never = long.MinValue;
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _reported = new(StringComparer.Ordinal);
    private int _all;

    /// <summary>Connections held now (for tests and metrics).</summary>
    public int Open => Volatile.Read(ref _all);

    /// <summary>Connection middleware: counts the connection against its peer, or closes it when over a limit.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        if (connection.Features.Get<Caller>() is { IsAdmin: true })
        {
            await next(connection);
            return;
        }
        var peer = PeerOf(connection);
        if (!TryEnter(peer, out var over))
        {
            Report(peer, over);
            connection.Abort(new ConnectionAbortedException($"over the {over} connection limit"));
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Leave(peer);
        }
    };

    /// <summary>Takes a place for <paramref name="peer"/>; false (with which limit) when there is none.</summary>
    internal bool TryEnter(string peer, out string over)
    {
        if (Interlocked.Increment(ref _all) > total)
        {
            Interlocked.Decrement(ref _all);
            over = $"{endpoint}'s {total}";
            return false;
        }
        if (_open.AddOrUpdate(peer, 1, (_, n) => n + 1) > perPeer)
        {
            Leave(peer);
            over = $"per-peer {perPeer}";
            return false;
        }
        over = "";
        return true;
    }

    internal void Leave(string peer)
    {
        Interlocked.Decrement(ref _all);
        // Drop a peer's entry at zero so the table holds only peers with connections.
        if (_open.AddOrUpdate(peer, 0, (_, n) => n - 1) <= 0)
            _open.TryRemove(new KeyValuePair<string, int>(peer, 0));
    }

    private void Report(string peer, string over)
    {
        var now = Environment.TickCount64;
        var last = _reported.GetOrAdd(peer, Never);
        if ((last != Never && now - last < ReportEvery.TotalMilliseconds) || !_reported.TryUpdate(peer, now, last))
            return;
        if (_reported.Count > total)
            _reported.Clear(); // bounded: many distinct refused peers just get reported again
        log.Warn($"refusing {endpoint} connections from {Lcluster.Shared.PrintableText.Escape(peer)}: over the {over} connection limit");
    }

    /// <summary>A TCP peer is its address; a socket peer its user (the identity middleware ran first).</summary>
    private static string PeerOf(ConnectionContext connection) =>
        connection.Features.Get<Caller>() is { } caller ? "user " + caller.User
        : connection.RemoteEndPoint is IPEndPoint ip ? ip.Address.ToString()
        : "local socket";
}

/// <summary>The node's two connection counts: its local sockets' and its TCP endpoints'.</summary>
internal sealed record EndpointLimits(ConnectionLimits Socket, ConnectionLimits Tcp);
