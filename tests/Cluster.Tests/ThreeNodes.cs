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
            for (var i = 0; i < lab.Nodes.Count; i++)
                nodes.Add(await DaemonProcess.StartAsync(lab.Daemon(i, etcd.ClientUrl, extraArgs.Any(a => a.StartsWith("--slots=", StringComparison.Ordinal)) ? extraArgs : ["--slots=2", .. extraArgs])));
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

    /// <summary>Node i's name: unique to this cluster, since cgroups (lcluster/NAME) are host-wide.</summary>
    public string NameOf(int i) => Nodes[i].NodeName;

    /// <summary>The index of the node --nodes calls prime, asked through node <paramref name="via"/>.</summary>
    public async Task<int> PrimeAsync(int via)
    {
        var nodes = JsonDocument.Parse((await RunAsync(via, "--nodes", "--json")).Stdout).RootElement.EnumerateArray();
        var prime = nodes.Single(n => n.GetProperty("prime").GetBoolean()).GetProperty("name").GetString();
        return Enumerable.Range(0, Nodes.Count).Single(i => NameOf(i) == prime);
    }

    /// <summary>Every listed job once all of <paramref name="ids"/> are in a terminal state (fails with the states and logs otherwise).</summary>
    public Task<IReadOnlyDictionary<string, JsonElement>> WaitAllFinishedAsync(int via, IReadOnlyCollection<string> ids, TimeSpan within) =>
        WaitAllFinishedAsync(args => RunAsync(via, args), ids, within, Logs);

    /// <summary>
    /// Every listed job once all of <paramref name="ids"/> are in a terminal state, listed by lclusterc through
    /// <paramref name="run"/>; fails with the states seen and <paramref name="logs"/> when they are not by the deadline.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, JsonElement>> WaitAllFinishedAsync(
        Func<string[], Task<CliResult>> run, IReadOnlyCollection<string> ids, TimeSpan within, Func<string> logs)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var list = await run(["--listjobs", "--json", "--limit=100000"]);
            if (list.ExitCode == 0)
            {
                var jobs = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray()
                    .Where(j => ids.Contains(j.GetProperty("id").GetString()!))
                    .ToDictionary(j => j.GetProperty("id").GetString()!, j => j.Clone());
                if (jobs.Count == ids.Count && jobs.Values.All(j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled" or "lost"))
                    return jobs;
                if (DateTime.UtcNow > deadline)
                    throw new Xunit.Sdk.XunitException($"not all {ids.Count} jobs finished: {string.Join(", ", jobs.Values.GroupBy(j => j.GetProperty("state").GetString()).Select(g => $"{g.Key} {g.Count()}"))}, {ids.Count - jobs.Count} missing\n{logs()}");
            }
            else if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"--listjobs failed: {list}\n{logs()}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// The node's machine dies: its daemon is SIGKILLed and every process of its
    /// containers with it (a killed daemon alone would leave them running until
    /// it restarts and reaps them).
    /// </summary>
    public async Task KillMachineAsync(int i)
    {
        await Nodes[i].KillAsync();
        var kill = Path.Combine(HostCgroups.Unified, "lcluster", NameOf(i), "cgroup.kill");
        if (File.Exists(kill))
            await File.WriteAllTextAsync(kill, "1");
    }

    /// <summary>The jobs among <paramref name="ids"/> as --listjobs --json shows them through node <paramref name="via"/>.</summary>
    public async Task<List<JsonElement>> ListAsync(int via, IReadOnlyCollection<string> ids)
    {
        var list = await RunAsync(via, "--listjobs", "--json", "--limit=100000");
        if (list.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"--listjobs failed: {list}\n{Logs()}");
        return JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Where(j => ids.Contains(j.GetProperty("id").GetString()!)).Select(j => j.Clone()).ToList();
    }

    /// <summary>Job id → node, once every one of <paramref name="ids"/> runs.</summary>
    public async Task<Dictionary<string, string>> WaitRunningAsync(int via, IReadOnlyCollection<string> ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var jobs = await ListAsync(via, ids);
            if (jobs.Count == ids.Count && jobs.All(j => j.GetProperty("state").GetString() == "running"))
                return jobs.ToDictionary(j => j.GetProperty("id").GetString()!, j => j.GetProperty("node").GetString()!);
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"not all running: {string.Join("\n", jobs)}\n{Logs()}");
            await Task.Delay(100);
        }
    }

    /// <summary>The job's record once <paramref name="done"/> holds for it.</summary>
    public async Task<JsonElement> WaitJobAsync(int via, string id, Func<JsonElement, bool> done, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var job = await CheckAsync(via, id);
            if (done(job))
                return job;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"job {id} did not get there: {job}\n{Logs()}");
            await Task.Delay(100);
        }
    }

    public string Logs() => string.Join("\n", Nodes.Select((n, i) => $"--- node {i} log:\n{n.LogTail(60)}"));

    public async ValueTask DisposeAsync()
    {
        // LCLUSTER_KEEP_LOGS=DIR keeps every node's log and etcd's for a post-mortem.
        if (Environment.GetEnvironmentVariable("LCLUSTER_KEEP_LOGS") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            foreach (var (n, i) in Nodes.Select((n, i) => (n, i)))
                File.WriteAllText(Path.Combine(keep, NameOf(i) + ".log"), n.LogText());
            File.Copy(Etcd.LogPath, Path.Combine(keep, "etcd.log"), overwrite: true);
        }
        foreach (var n in Nodes)
            await n.DisposeAsync();
        await Etcd.DisposeAsync();
        await Lab.DisposeAsync();
    }
}
