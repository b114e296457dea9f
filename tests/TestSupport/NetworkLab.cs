using System.Diagnostics;

namespace Lcluster.TestSupport;

/// <summary>
/// Several "machines" on one host for cluster tests: a hub network namespace
/// holding a bridge (10.77.0.254/24, where a single etcd runs), and one
/// namespace per node joined to the bridge by a veth pair (10.77.0.1, .2, ...).
/// etcd members of a cluster get a namespace each, with two links: one to the
/// clients' bridge (10.77.0.101, .102, ...) and one to a second bridge that
/// carries only the members' own traffic (10.78.0.1, .2, ...), so a member can
/// be cut from its peers while its clients still reach it. Every address lives
/// inside a namespace this lab made; the host's own network is never touched.
/// Disposal deletes the namespaces (and with them the links).
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    public const string HubAddress = "10.77.0.254";

    private readonly string _id;

    private NetworkLab(string id, int nodes, int etcdMembers)
    {
        _id = id;
        Hub = $"lct-{id}-hub";
        Nodes = Enumerable.Range(0, nodes).Select(i => new LabNode($"lct-{id}-n{i}", $"10.77.0.{i + 1}", $"lc{id}h{i}")).ToList();
        EtcdMembers = Enumerable.Range(0, etcdMembers)
            .Select(i => new LabEtcdMember($"lct-{id}-e{i}", $"10.77.0.{101 + i}", $"10.78.0.{1 + i}", $"lc{id}c{i}", $"lc{id}p{i}")).ToList();
    }

    /// <summary>A short id unique to this lab (names of its namespaces and links carry it).</summary>
    public string Id => _id;

    /// <summary>The namespace with the bridge; run etcd here.</summary>
    public string Hub { get; }

    /// <summary>The lab cluster's CA (`lclusterd ca init`): its nodes speak mutual TLS to each other.</summary>
    public string CertificateAuthority { get; private set; } = "";

    /// <summary>A daemon on node <paramref name="index"/> of the lab: its namespace and address, a name of the lab's, the lab's CA.</summary>
    public DaemonSettings Daemon(int index, string etcd, IReadOnlyList<string> extraArgs) => new()
    {
        Etcd = etcd,
        Namespace = Nodes[index].Namespace,
        Host = Nodes[index].Address,
        NodeName = $"{Id}-{(char)('a' + index)}",
        CertificateAuthority = CertificateAuthority,
        ExtraArgs = extraArgs,
    };

    public IReadOnlyList<LabNode> Nodes { get; }

    /// <summary>The namespaces for the members of an etcd cluster (see <see cref="EtcdCluster"/>), if the lab was made with some.</summary>
    public IReadOnlyList<LabEtcdMember> EtcdMembers { get; }

    public static async Task<NetworkLab> CreateAsync(int nodes, int etcdMembers = 0)
    {
        Requires.Root();
        Requires.Program("ip");
        var lab = new NetworkLab(Guid.NewGuid().ToString("N")[..5], nodes, etcdMembers);
        try
        {
            lab.CertificateAuthority = CertificateTool.NewAuthority();
            await IpAsync("netns", "add", lab.Hub);
            await IpAsync("-n", lab.Hub, "link", "set", "lo", "up");
            await IpAsync("-n", lab.Hub, "link", "add", "br0", "type", "bridge");
            await IpAsync("-n", lab.Hub, "addr", "add", $"{HubAddress}/24", "dev", "br0");
            await IpAsync("-n", lab.Hub, "link", "set", "br0", "up");
            foreach (var node in lab.Nodes)
            {
                await IpAsync("netns", "add", node.Namespace);
                await IpAsync("-n", node.Namespace, "link", "set", "lo", "up");
                await IpAsync("-n", lab.Hub, "link", "add", node.HubLink, "type", "veth", "peer", "name", "eth0", "netns", node.Namespace);
                await IpAsync("-n", lab.Hub, "link", "set", node.HubLink, "master", "br0");
                await IpAsync("-n", lab.Hub, "link", "set", node.HubLink, "up");
                await IpAsync("-n", node.Namespace, "addr", "add", $"{node.Address}/24", "dev", "eth0");
                await IpAsync("-n", node.Namespace, "link", "set", "eth0", "up");
            }
            if (lab.EtcdMembers.Count > 0)
            {
                await IpAsync("-n", lab.Hub, "link", "add", "br1", "type", "bridge");
                await IpAsync("-n", lab.Hub, "link", "set", "br1", "up");
            }
            foreach (var member in lab.EtcdMembers)
            {
                await IpAsync("netns", "add", member.Namespace);
                await IpAsync("-n", member.Namespace, "link", "set", "lo", "up");
                foreach (var (link, bridge, device, address) in new[]
                         {
                             (member.ClientLink, "br0", "eth0", member.ClientAddress + "/24"),
                             (member.PeerLink, "br1", "eth1", member.PeerAddress + "/24"),
                         })
                {
                    await IpAsync("-n", lab.Hub, "link", "add", link, "type", "veth", "peer", "name", device, "netns", member.Namespace);
                    await IpAsync("-n", lab.Hub, "link", "set", link, "master", bridge);
                    await IpAsync("-n", lab.Hub, "link", "set", link, "up");
                    await IpAsync("-n", member.Namespace, "addr", "add", address, "dev", device);
                    await IpAsync("-n", member.Namespace, "link", "set", device, "up");
                }
            }
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Cuts a node off the network (etcd and the other nodes), as a pulled cable would.</summary>
    public Task CutAsync(LabNode node) => IpAsync("-n", Hub, "link", "set", node.HubLink, "down");

    public Task ReconnectAsync(LabNode node) => IpAsync("-n", Hub, "link", "set", node.HubLink, "up");

    /// <summary>Cuts an etcd member off its peers only: its clients still reach it, but it can no longer be part of a quorum.</summary>
    public Task CutPeersAsync(LabEtcdMember member) => IpAsync("-n", Hub, "link", "set", member.PeerLink, "down");

    public Task ReconnectPeersAsync(LabEtcdMember member) => IpAsync("-n", Hub, "link", "set", member.PeerLink, "up");

    /// <summary>Cuts an etcd member off everything: its peers and its clients.</summary>
    public async Task CutAsync(LabEtcdMember member)
    {
        await IpAsync("-n", Hub, "link", "set", member.PeerLink, "down");
        await IpAsync("-n", Hub, "link", "set", member.ClientLink, "down");
    }

    public async Task ReconnectAsync(LabEtcdMember member)
    {
        await IpAsync("-n", Hub, "link", "set", member.ClientLink, "up");
        await IpAsync("-n", Hub, "link", "set", member.PeerLink, "up");
    }

    /// <summary>A ProcessStartInfo that runs the program inside the namespace.</summary>
    public static ProcessStartInfo Inside(string @namespace, string program, params string[] args)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", @namespace, program }.Concat(args))
            info.ArgumentList.Add(a);
        return info;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in Nodes.Select(n => n.Namespace).Concat(EtcdMembers.Select(m => m.Namespace)).Append(Hub))
            await IpAsync(ignoreFailure: true, "netns", "del", ns);
        if (CertificateAuthority.Length > 0)
            Directory.Delete(Path.GetDirectoryName(CertificateAuthority)!, recursive: true);
    }

    private static Task IpAsync(params string[] args) => IpAsync(false, args);

    private static async Task IpAsync(bool ignoreFailure, params string[] args)
    {
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && !ignoreFailure)
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({process.ExitCode}): {(await stderr).Trim()}");
    }
}

/// <summary>One node's namespace, its address on the lab network, and its link's name on the hub side.</summary>
public sealed record LabNode(string Namespace, string Address, string HubLink);

/// <summary>One etcd member's namespace, its addresses on the clients' and the members' networks, and those links' names on the hub side.</summary>
public sealed record LabEtcdMember(string Namespace, string ClientAddress, string PeerAddress, string ClientLink, string PeerLink);
