using System.Collections.Concurrent;
using System.Text.Json;
using Lcluster.TestSupport.Chaos;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 9: the leader of a three-member etcd dies while jobs are submitted and placed.</summary>
public sealed class EtcdLeaderLossTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_the_etcd_leader_pauses_placement_briefly_and_every_acknowledged_job_runs_exactly_once()
    {
        await using var lab = await NetworkLab.CreateAsync(3, etcdMembers: 3);
        await using var etcd = await EtcdCluster.StartInLabAsync(lab);
        var nodes = new List<DaemonProcess>();
        try
        {
            for (var i = 0; i < lab.Nodes.Count; i++)
                nodes.Add(await DaemonProcess.StartAsync(lab.Daemon(i, etcd.Endpoints, ["--slots=2", "--lease-ttl=2s", "--fence-timeout=8s"])));

            // One client submits a short job every 100 ms, through each node in turn, until told to stop.
            var acked = new ConcurrentDictionary<string, DateTimeOffset>();
            var refused = new ConcurrentQueue<string>();
            using var stopSubmitting = new CancellationTokenSource();
            var submitting = Task.Run(async () =>
            {
                for (var k = 0; !stopSubmitting.IsCancellationRequested; k++)
                {
                    var result = await Cli.RunAsync(nodes[k % nodes.Count].Server, $"--addjob=sleep 0.2; echo {k}");
                    if (result.ExitCode == 0)
                        acked[result.Stdout.Trim()] = DateTimeOffset.UtcNow;
                    else
                        refused.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {result}");
                    await Task.Delay(100);
                }
            });

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (ContainerStarts(nodes).Count < 20)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fewer than 20 jobs started in 60 s\n{Logs(nodes)}");
                await Task.Delay(100);
            }
            var leader = await etcd.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            await etcd.Members[leader].KillAsync();
            var killedAt = DateTimeOffset.UtcNow;
            var ackedBeforeKill = acked.Count;

            // Placement resumes: a job acknowledged after the kill gets a container.
            deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!acked.Any(a => a.Value > killedAt && ContainerStarts(nodes).Any(s => s.Job == a.Key)))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no job acknowledged after the leader's death started within 60 s\n{string.Join("\n", refused)}\n{Logs(nodes)}");
                await Task.Delay(100);
            }
            var ackedAtKill = acked.Count;
            while (acked.Count < ackedAtKill + 20)
            {
                Assert.True(DateTime.UtcNow < deadline, $"submissions did not go on after the leader's death\n{string.Join("\n", refused)}\n{Logs(nodes)}");
                await Task.Delay(100);
            }
            await stopSubmitting.CancelAsync();
            await submitting;

            var ids = acked.Keys.ToList();
            var jobs = await ThreeNodes.WaitAllFinishedAsync(args => Cli.RunAsync(nodes[0].Server, args), ids, TimeSpan.FromMinutes(2), () => Logs(nodes));
            foreach (var daemon in nodes)
                await daemon.TerminateAsync(TimeSpan.FromSeconds(30));
            var starts = ContainerStarts(nodes);
            var events = nodes.SelectMany(n => ContainerLogFile.ReadNode(n.DataDir)).ToList();

            // Exactly once: every acknowledged job succeeded at its first attempt, with one container start and one exit 0.
            foreach (var id in ids)
            {
                var job = jobs[id];
                Assert.True(job.GetProperty("state").GetString() == "succeeded" && job.GetProperty("attempts").GetInt32() == 1, $"job {id}: {job}");
                Assert.Single(events, e => e.Job == id && e.Kind == "start");
                Assert.Equal(0, Assert.Single(events, e => e.Job == id && e.Kind == "end").ExitCode);
            }
            var firstStartAfter = starts.Where(s => s.Wall > killedAt).Min(s => s.Wall);
            var firstNewStart = starts.Where(s => acked.TryGetValue(s.Job!, out var at) && at > killedAt).Min(s => s.Wall);
            var lastStartBefore = starts.Where(s => s.Wall <= killedAt).Max(s => s.Wall);
            output.WriteLine($"etcd leader {etcd.Members[leader].Name} SIGKILLed at {killedAt:HH:mm:ss.fff}; {ackedBeforeKill} jobs acknowledged before, {ids.Count} in all, " +
                             $"{refused.Count} submissions refused meanwhile");
            output.WriteLine($"placement pause: last container start before the kill {(killedAt - lastStartBefore).TotalSeconds:F2} s before it; " +
                             $"first start after it {(firstStartAfter - killedAt).TotalSeconds:F2} s after; first start of a job submitted after it {(firstNewStart - killedAt).TotalSeconds:F2} s after");
            foreach (var line in refused)
                output.WriteLine("refused: " + line);
            // What the daemons said about etcd around the kill: the pause's anatomy.
            foreach (var node in nodes)
            {
                foreach (var line in node.LogText().Split('\n'))
                {
                    if (line.Length > 24 && DateTimeOffset.TryParse(line[..24], out var at) && at >= killedAt.AddSeconds(-0.1) && at <= firstStartAfter.AddSeconds(0.2))
                        output.WriteLine($"{node.NodeName}: {line}");
                }
            }
        }
        finally
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
        }
    }

    private static List<ContainerEvent> ContainerStarts(IEnumerable<DaemonProcess> nodes) =>
        nodes.SelectMany(n => ContainerLogFile.ReadNode(n.DataDir)).Where(e => e.Kind == "start").ToList();

    private static string Logs(IEnumerable<DaemonProcess> nodes) => string.Join("\n", nodes.Select(n => $"--- {n.NodeName}:\n{n.LogTail(30)}"));
}
