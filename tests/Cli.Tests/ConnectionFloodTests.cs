using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>
/// A caller that opens connections and never speaks: the node keeps serving everyone else, holds far fewer
/// descriptors than it has, and lets the idle connections go.
/// </summary>
public sealed class ConnectionFloodTests
{
    private const int Connections = 25_000;

    /// <summary>The flood is split between processes: root here may lack CAP_SYS_RESOURCE, and the hard limit on open files be 20,000.</summary>
    private const int Processes = 2;

    /// <summary>Opens connections from 100 loopback addresses (so the per-peer limit alone does not stop them), says
    /// how many it opened, and holds them, never sending a byte, until it reads a line.</summary>
    private const string Flood = """
        import resource, select, socket, sys, time
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        port, count = int(sys.argv[1]), int(sys.argv[2])
        held = []
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.1.%d" % (1 + i % 100), 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            held.append(s)
        # Until every connect has completed (the kernel retries SYNs a full accept queue dropped).
        pending = {s.fileno(): s for s in held}
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLOUT)
        deadline = time.time() + 60
        while pending and time.time() < deadline:
            for fd, _ in poller.poll(1000):
                poller.unregister(fd)
                pending.pop(fd)
        print("opened", len(held) - len(pending), flush=True)
        sys.stdin.readline()
        """;

    [Fact]
    public async Task Twenty_five_thousand_idle_connections_leave_the_node_serving_and_are_let_go()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "flood", ExtraArgs = ["--slots=1"] });
        // The node raised its soft limit on open files as far as it needs, or as the hard limit allows.
        var hard = ulong.Parse(File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]);
        var soft = ulong.Parse(File.ReadLines($"/proc/{daemon.Pid}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
        Assert.True(soft >= Math.Min(hard, 65536), $"the node's soft limit on open files is {soft}, the hard limit here {hard}");

        var floods = Enumerable.Range(0, Processes).Select(_ => Process.Start(new ProcessStartInfo(Requires.Program("python3"))
        {
            ArgumentList = { "-c", Flood, daemon.Port.ToString(), (Connections / Processes).ToString() },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!).ToList();
        var errors = floods.Select(f => f.StandardError.ReadToEndAsync()).ToList();
        try
        {
            foreach (var flood in floods)
                Assert.Equal($"opened {Connections / Processes}", await flood.StandardOutput.ReadLineAsync());

            // Local users are still served while the flood holds the TCP endpoint's every place.
            var id = (await TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=echo served")).Trim();
            Assert.Contains(id, await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs"));
            var descriptors = Directory.GetFiles($"/proc/{daemon.Pid}/fd").Length;
            Assert.True(descriptors < 6000, $"the node holds {descriptors} descriptors under the flood");
            Assert.True(daemon.LogText().Contains("over the TCP's 4096 connection limit", StringComparison.Ordinal), daemon.LogTail());

            // Idle connections are closed by the node after 30 s without a stream. (Past the accept queue some
            // connections exist only on the client's side, by SYN cookie: the node holds nothing for them. Others
            // complete late, as the kernel retransmits SYN-ACKs for a minute, and are then held 30 s in their turn:
            // so the test follows the connections held now, not the port's count.)
            var held = ServerSideConnections(daemon.Port);
            Assert.True(held.Count > 1000, $"{held.Count} connections held");
            // Kestrel's default would keep them 130 s; the node's 30 s, checked each second. Two idle periods and some
            // margin: one for those accepted, one for those still in the accept queue at the snapshot, which the node
            // accepts (and then holds 30 s) only as the first ones go.
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (held.Overlaps(ServerSideConnections(daemon.Port)) && DateTime.UtcNow < deadline)
                await Task.Delay(1000);
            // A straggler the kernel hands over late may still be in its own 30 s (seen: 1 of 4,097, twice, on a loaded
            // machine); Kestrel's default would have kept every one of them.
            var kept = held.Intersect(ServerSideConnections(daemon.Port)).ToList();
            Assert.True(kept.Count <= held.Count / 100, $"{kept.Count} of the {held.Count} connections held 90 s ago are still open: {string.Join(", ", kept.Take(5))}");
            Assert.True(daemon.IsRunning, daemon.LogTail());
            Assert.True(Directory.GetFiles($"/proc/{daemon.Pid}/fd").Length < 200);
            // TCP answers again (this node has no certificate, so a TCP caller is nobody it knows: it says so).
            var tcp = await TestSupport.Cli.RunAsync(daemon.Address, "--nodes");
            Assert.Contains("this connection carries no identity lclusterd accepts", tcp.Stderr);
            // Nobody learns anything, not even that a job exists: a real id and a made-up one are refused alike.
            var known = await TestSupport.Cli.RunAsync(daemon.Address, $"--checkjob={id}");
            var unknown = await TestSupport.Cli.RunAsync(daemon.Address, $"--checkjob={Guid.NewGuid()}");
            Assert.True(known.ExitCode != 0 && known.Stderr.Contains("carries no identity", StringComparison.Ordinal), known.ToString());
            Assert.Equal(known.ExitCode, unknown.ExitCode);
            Assert.Equal(known.Stderr, unknown.Stderr);
        }
        finally
        {
            foreach (var flood in floods)
            {
                if (!flood.HasExited)
                    flood.Kill();
                await flood.WaitForExitAsync();
                flood.Dispose();
            }
        }
        foreach (var error in errors)
            Assert.Equal("", (await error).Trim());
    }

    [Fact]
    public async Task A_flood_of_the_http_endpoint_is_held_to_the_tcp_connection_limit()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "http-flood", HttpListen = true, ExtraArgs = ["--slots=1"] });
        // Well past the limit: on a loaded machine the kernel drops some of a flood (SYN cookies past the accept
        // queue), and those never reach the node to be counted.
        const int Count = 12_000;
        using var flood = Process.Start(new ProcessStartInfo(Requires.Program("python3"))
        {
            ArgumentList = { "-c", Flood, daemon.HttpPort.ToString(), Count.ToString() },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var error = flood.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal($"opened {Count}", await flood.StandardOutput.ReadLineAsync());
            // The HTTP endpoint shares the TCP count with the gRPC one: past it, connections are closed unanswered.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!daemon.LogText().Contains("over the TCP's 4096 connection limit", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
                await Task.Delay(200);
            Assert.True(daemon.LogText().Contains("over the TCP's 4096 connection limit", StringComparison.Ordinal), daemon.LogTail());
            var descriptors = Directory.GetFiles($"/proc/{daemon.Pid}/fd").Length;
            Assert.True(descriptors < 4096 + 500, $"the node holds {descriptors} descriptors under a flood of {Count} HTTP connections");
            var id = (await TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=echo served")).Trim();
            Assert.Contains(id, await TestSupport.Cli.OkAsync(daemon.Server, null, "--listjobs"));
        }
        finally
        {
            if (!flood.HasExited)
                flood.Kill();
            await flood.WaitForExitAsync();
        }
        Assert.Equal("", (await error).Trim());
    }

    /// <summary>Established TCP connections of the flood's (from 127.0.1.0/24) whose local end is the node's port: its
    /// accepted or queued connections, each named by its remote address and port. (The node's own connections to its
    /// port, over which it talks to itself, are not idle and not the flood's.)</summary>
    private static HashSet<string> ServerSideConnections(int port)
    {
        const string Established = "01";
        var local = $":{port:X4}";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[1].EndsWith(local, StringComparison.Ordinal) && f[3] == Established && FromFlood(f[2]))
            .Select(f => f[2])
            .ToHashSet();
    }

    /// <summary>"0501007F:D431" (little-endian 127.0.1.5) is one of the flood's addresses.</summary>
    private static bool FromFlood(string remote) => remote[2..8].Equals("01007F", StringComparison.OrdinalIgnoreCase);
}
