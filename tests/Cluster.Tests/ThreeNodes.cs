using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cluster.Tests;

/// <summary>
/// Three real lclusterd nodes on one machine, each in its own network
/// namespace (10.77.0.1-3), joined by veth pairs to a hub namespace where one
/// real etcd runs (10.77.0.254). Clients run inside a node's namespace.
/// </summary>
public sealed class ThreeNodes : IAsyncDisposable
{
    private ThreeNodes(NetworkLab lab, EtcdServer etcd, IReadOnlyList<DaemonProcess> nodes)
    {
        Lab = lab;
        Etcd = etcd;
        Nodes = nodes;
    }

    public NetworkLab Lab { get; }
    public EtcdServer Etcd { get; }
    public IReadOnlyList<DaemonProcess> Nodes { get; }

    public static async Task<ThreeNodes> StartAsync(params string[] extraArgs)
    {
        var lab = await NetworkLab.CreateAsync(3);
        EtcdServer? etcd = null;
        var nodes = new List<DaemonProcess>();
        try
        {
            etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { Host = NetworkLab.HubAddress, Namespace = lab.Hub });
            foreach (var (labNode, i) in lab.Nodes.Select((n, i) => (n, i)))
            {
                nodes.Add(await DaemonProcess.StartAsync(new DaemonSettings
                {
                    Etcd = etcd.ClientUrl,
                    Namespace = labNode.Namespace,
                    Host = labNode.Address,
                    NodeName = $"node-{(char)('a' + i)}",
                    ExtraArgs = ["--slots=2", .. extraArgs],
                }));
            }
            return new ThreeNodes(lab, etcd, nodes);
        }
        catch
        {
            foreach (var n in nodes)
                await n.DisposeAsync();
            if (etcd is not null)
                await etcd.DisposeAsync();
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>lclusterc run inside node <paramref name="i"/>'s namespace, talking to that node.</summary>
    public Task<CliResult> RunAsync(int i, params string[] args) => Cli.RunInAsync(Nodes[i].Server, Nodes[i].Namespace, null, args);

    public async Task<JsonElement> CheckAsync(int via, string id)
    {
        var result = await RunAsync(via, $"--checkjob={id}", "--json");
        if (result.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"checkjob {id} via node {via} failed: {result}");
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    public string Logs() => string.Join("\n", Nodes.Select((n, i) => $"--- node {i} log:\n{n.LogTail(60)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes)
            await n.DisposeAsync();
        await Etcd.DisposeAsync();
        await Lab.DisposeAsync();
    }
}
