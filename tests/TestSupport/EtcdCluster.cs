using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Lcluster.TestSupport;

/// <summary>
/// A real etcd cluster of several members (three by default): on loopback with free ports,
/// or each member in its own namespace of a <see cref="NetworkLab"/> made with etcd members
/// (then a member can also be cut from its peers, or from everyone). Members can be killed,
/// paused and started again; <see cref="LeaderAsync"/> says which one leads now. Disposal
/// kills every member and removes their data.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private readonly NetworkLab? _lab;

    private EtcdCluster(NetworkLab? lab, IReadOnlyList<EtcdServer> members)
    {
        _lab = lab;
        Members = members;
    }

    public IReadOnlyList<EtcdServer> Members { get; }

    /// <summary>Every member's client URL, in member order: what --etcd takes, joined by commas.</summary>
    public IReadOnlyList<string> ClientUrls => Members.Select(m => m.ClientUrl).ToList();

    public string Endpoints => string.Join(",", ClientUrls);

    /// <summary>The lab member a server runs in (lab clusters only).</summary>
    public LabEtcdMember LabMember(int i) => _lab?.EtcdMembers[i] ?? throw new InvalidOperationException("this cluster runs on loopback, not in a lab");

    /// <summary>Starts a fresh cluster on loopback (free ports) and returns once every member is healthy.</summary>
    public static async Task<EtcdCluster> StartOnLoopbackAsync(int members = 3, CancellationToken cancellationToken = default)
    {
        // Free ports are only free until someone else binds one: a few tries on fresh ports absorb that race.
        for (var attempt = 1; ; attempt++)
        {
            var ports = Enumerable.Range(0, members).Select(_ => (Client: FreePort(), Peer: FreePort())).ToList();
            var token = "lcluster-test-" + Guid.NewGuid().ToString("N")[..8];
            var names = ports.Select(p => $"m{p.Client}").ToList();
            var initial = string.Join(",", ports.Select((p, i) => $"{names[i]}=http://127.0.0.1:{p.Peer}"));
            var options = ports.Select((p, i) => new EtcdServerOptions
            {
                Membership = new EtcdMembership(names[i], p.Client, "127.0.0.1", p.Peer, initial, token),
            }).ToList();
            try
            {
                return new EtcdCluster(null, await StartMembersAsync(options, cancellationToken));
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use"))
            {
                // Another process took a port: all members again on fresh ones.
            }
        }
    }

    /// <summary>Starts a fresh cluster with one member in each of the lab's etcd namespaces; returns once every member is healthy.</summary>
    public static async Task<EtcdCluster> StartInLabAsync(NetworkLab lab, CancellationToken cancellationToken = default)
    {
        if (lab.EtcdMembers.Count == 0)
            throw new ArgumentException("the lab has no etcd members: make it with NetworkLab.CreateAsync(nodes, etcdMembers)", nameof(lab));
        var token = $"lcluster-test-{lab.Id}";
        var initial = string.Join(",", lab.EtcdMembers.Select((m, i) => $"e{i}=http://{m.PeerAddress}:2380"));
        var options = lab.EtcdMembers.Select((m, i) => new EtcdServerOptions
        {
            Host = m.ClientAddress,
            Namespace = m.Namespace,
            Membership = new EtcdMembership($"e{i}", 2379, m.PeerAddress, 2380, initial, token),
        }).ToList();
        return new EtcdCluster(lab, await StartMembersAsync(options, cancellationToken));
    }

    /// <summary>Every member starts at once: none is healthy before a quorum of them runs.</summary>
    private static async Task<IReadOnlyList<EtcdServer>> StartMembersAsync(IReadOnlyList<EtcdServerOptions> options, CancellationToken cancellationToken)
    {
        var starts = options.Select(o => EtcdServer.StartNewAsync(o, cancellationToken)).ToList();
        try
        {
            return await Task.WhenAll(starts);
        }
        catch
        {
            foreach (var start in starts.Where(s => s.IsCompletedSuccessfully))
                await start.Result.DisposeAsync();
            // Surface the first failure with its member's output (StartNewAsync disposed that member itself).
            throw starts.First(s => s.IsFaulted).Exception!.GetBaseException();
        }
    }

    /// <summary>The index of the member that leads now, as the first running member that knows of a leader says; null when none does.</summary>
    public async Task<int?> LeaderAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (member, i) in Members.Select((m, i) => (m, i)))
        {
            if (!member.IsRunning)
                continue;
            var status = await EtcdctlJsonAsync(i, cancellationToken, "endpoint", "status", "-w", "json");
            if (status is not { } json)
                continue;
            // etcd's JSON leaves zero fields out: no "leader" means this member knows of none (electing, or cut off);
            // another member may know better.
            if (!json[0].GetProperty("Status").TryGetProperty("leader", out var leaderField) || leaderField.GetUInt64() is not (> 0 and var leaderId))
                continue;
            var members = await EtcdctlJsonAsync(i, cancellationToken, "member", "list", "-w", "json");
            if (members is not { } list)
                continue;
            var leaderName = list.GetProperty("members").EnumerateArray()
                .First(m => m.GetProperty("ID").GetUInt64() == leaderId).GetProperty("name").GetString();
            return Members.Select((m, j) => (m, j)).Single(x => x.m.Name == leaderName).j;
        }
        return null;
    }

    /// <summary>Waits until some member leads (after a leader died, an election takes about an election timeout).</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan within, int? other = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (await LeaderAsync() is { } leader && leader != other)
                return leader;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no etcd member led within {within.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    /// <summary>etcdctl against one member (from inside its namespace in a lab); its JSON output, or null when the member did not answer.</summary>
    private async Task<JsonElement?> EtcdctlJsonAsync(int member, CancellationToken cancellationToken, params string[] arguments)
    {
        var all = new[] { $"--endpoints={Members[member].ClientUrl}", "--command-timeout=2s" }.Concat(arguments).ToArray();
        var info = _lab is null
            ? new ProcessStartInfo(Requires.Program("etcdctl"), all)
            : NetworkLab.Inside(_lab.EtcdMembers[member].Namespace, Requires.Program("etcdctl"), all);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["ETCDCTL_API"] = "3";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        await stderr;
        return process.ExitCode == 0 ? JsonDocument.Parse(await stdout).RootElement.Clone() : null;
    }

    public string LogTails(int lines = 20) =>
        string.Join(Environment.NewLine, Members.Select(m => $"--- etcd member {m.Name} ({m.LogPath}):{Environment.NewLine}{m.LogTail(lines)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
            await member.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
