using System.Security.Cryptography;
using System.Text.Json;

namespace Lcluster.Cluster.Tests;

/// <summary>
/// Files in and out of jobs across nodes (docs/files.md): inputs uploaded to one node reach the tasks
/// placed on the others, artifacts come back through a node that did not run the job, and a task whose
/// inputs are on a node that is gone fails with the reason instead of waiting.
/// </summary>
public sealed class FileTransferTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Inputs_sent_through_one_node_reach_tasks_on_the_others_and_artifacts_download_through_a_node_that_did_not_run_them()
    {
        await using var cluster = await ThreeNodes.StartAsync();
        var scratch = Directory.CreateTempSubdirectory("lcluster-xfer-").FullName;
        try
        {
            var inputs = Directory.CreateDirectory(Path.Combine(scratch, "data dir")).FullName;
            await File.WriteAllTextAsync(Path.Combine(inputs, "name with spaces.txt"), "spaces\n");
            await File.WriteAllTextAsync(Path.Combine(inputs, "données-日本語.txt"), "unicode\n");
            await File.WriteAllTextAsync(Path.Combine(inputs, "run.sh"), "#!/bin/sh\necho ran as $LCLUSTER_ARRAY_INDEX\n");
            File.SetUnixFileMode(Path.Combine(inputs, "run.sh"), (UnixFileMode)0x1ED);
            var big = new byte[50 << 20];
            Random.Shared.NextBytes(big);
            await File.WriteAllBytesAsync(Path.Combine(inputs, "big.bin"), big);
            var expected = Directory.GetFiles(inputs).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));

            // Three tasks on three idle nodes: placement spreads them, one per node, all on the same upload.
            var added = await cluster.RunAsync(0, "--addjob=mkdir out && './data dir/run.sh' > out/ran.txt && cd 'data dir' && " +
                "sha256sum * > ../out/sums.txt && stat -c '%a %n' run.sh > ../out/modes.txt && cp big.bin run.sh ../out/",
                $"--input={inputs}", "--artifact=out/*", "--array=0-2", "--memory=256M");
            Assert.True(added.ExitCode == 0, $"{added}\n{cluster.Logs()}");
            var ids = added.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var jobs = await cluster.WaitAllFinishedAsync(0, ids, Within);
            Assert.All(jobs.Values, j => Assert.True(j.GetProperty("state").GetString() == "succeeded", $"{j}\n{cluster.Logs()}"));
            var elsewhere = jobs.Values.FirstOrDefault(j => j.GetProperty("node").GetString() != cluster.NameOf(0));
            Assert.True(elsewhere.ValueKind == JsonValueKind.Object,
                $"every task ran on node 0, where the inputs were uploaded: {string.Join("\n", jobs.Values)}");

            var id = elsewhere.GetProperty("id").GetString()!;
            var ranOn = elsewhere.GetProperty("node").GetString()!;
            var via = Enumerable.Range(0, 3).First(i => cluster.NameOf(i) != ranOn);
            var to = Path.Combine(scratch, "downloaded");
            var download = await cluster.RunAsync(via, $"--download={id}", $"--to={to}");

            Assert.True(download.ExitCode == 0, $"{download}\n{cluster.Logs()}");
            var sums = (await File.ReadAllLinesAsync(Path.Combine(to, "out", "sums.txt"))).ToDictionary(l => l[66..], l => l[..64]);
            Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), sums.OrderBy(e => e.Key, StringComparer.Ordinal));
            Assert.Equal(expected["big.bin"], Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(to, "out", "big.bin")))));
            Assert.Equal("755 run.sh\n", await File.ReadAllTextAsync(Path.Combine(to, "out", "modes.txt")));
            Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(to, "out", "run.sh")));
            Assert.Equal($"ran as {elsewhere.GetProperty("array_index").GetInt32()}\n", await File.ReadAllTextAsync(Path.Combine(to, "out", "ran.txt")));

            var kept = Path.Combine(cluster.Nodes[0].DataDir, "inputs");
            await WaitUntilAsync(() => Directory.GetFiles(kept).Length == 0, TimeSpan.FromSeconds(20),
                () => $"node 0 still keeps the inputs of the ended tasks: {string.Join(", ", Directory.GetFiles(kept))}\n{cluster.Logs()}");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task A_job_whose_inputs_are_on_a_node_that_is_gone_fails_saying_so_instead_of_waiting()
    {
        await using var cluster = await ThreeNodes.StartAsync("--slots=1");
        var scratch = Directory.CreateTempSubdirectory("lcluster-xfer-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(scratch, "input.txt"), "input\n");
            // One blocker per node, so the job with inputs waits in the queue while node 0 is killed.
            var blockers = new List<string>();
            for (var i = 0; i < 3; i++)
                blockers.Add((await cluster.RunAsync(0, "--addjob=sleep 300")).Stdout.Trim());
            var placed = await cluster.WaitRunningAsync(0, blockers);
            var added = await cluster.RunAsync(0, "--addjob=cat input.txt", $"--input={Path.Combine(scratch, "input.txt")}");
            Assert.True(added.ExitCode == 0, $"{added}\n{cluster.Logs()}");
            var id = added.Stdout.Trim();

            await cluster.KillMachineAsync(0);
            var onOne = placed.Single(p => p.Value == cluster.NameOf(1)).Key;
            Assert.Equal(0, (await cluster.RunAsync(1, $"--removejob={onOne}")).ExitCode);
            var job = await cluster.WaitJobAsync(1, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "lost" or "cancelled", Within);

            Assert.Equal("failed", job.GetProperty("state").GetString());
            var reason = job.GetProperty("reason").GetString()!;
            Assert.Contains("could not start", reason);
            Assert.Contains($"node {cluster.NameOf(0)}", reason);
            Assert.Contains("inputs", reason);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> done, TimeSpan within, Func<string> evidence)
    {
        var deadline = DateTime.UtcNow + within;
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException(evidence());
            await Task.Delay(250);
        }
    }
}
