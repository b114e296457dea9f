extern alias daemon;

using System.Formats.Tar;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cli.Tests;

/// <summary>
/// Files in and out of jobs on one node (docs/files.md): what lands in /work, what comes back, what is
/// refused — by lclusterc before sending, and by the node from a client that does not check.
/// </summary>
public sealed class FileTransferTests(FilesNode node) : IClassFixture<FilesNode>
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Inputs_land_in_work_which_is_the_jobs_directory_and_artifacts_come_back_with_their_modes()
    {
        var inputs = node.NewDirectory("in");
        await File.WriteAllTextAsync(Path.Combine(inputs, "a file with spaces.txt"), "spaces\n");
        await File.WriteAllTextAsync(Path.Combine(inputs, "ünïcödé-日本.txt"), "unicode\n");
        await File.WriteAllTextAsync(Path.Combine(inputs, "run.sh"), "#!/bin/sh\necho ran in $(pwd)\n");
        File.SetUnixFileMode(Path.Combine(inputs, "run.sh"), (UnixFileMode)0x1ED);
        File.SetUnixFileMode(Path.Combine(inputs, "a file with spaces.txt"), (UnixFileMode)0x1A0);
        var name = Path.GetFileName(inputs);

        var (id, job, run) = await node.RunJobAsync(
            $"--addjob=cd {name} && ./run.sh && stat -c '%a %n' * && mkdir ../out && cp * ../out/",
            $"--input={inputs}", "--artifact=out");
        var to = Path.Combine(node.Scratch, "got-" + id);
        var download = await node.RunAsync($"--download={id}", $"--to={to}");

        Assert.True(run.ExitCode == 0, $"{run}\n{job}");
        Assert.Contains($"ran in /work/{name}", run.Stdout);
        Assert.Contains("640 a file with spaces.txt", run.Stdout);
        Assert.Contains("755 run.sh", run.Stdout);
        Assert.Contains("644 ünïcödé-日本.txt", run.Stdout);
        Assert.Equal(3, job.GetProperty("input_files").GetInt32());
        Assert.Equal(3, job.GetProperty("artifact_files").GetInt32());
        Assert.True(download.ExitCode == 0, download.ToString());
        foreach (var file in new[] { "a file with spaces.txt", "ünïcödé-日本.txt", "run.sh" })
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(inputs, file)), await File.ReadAllTextAsync(Path.Combine(to, "out", file)));
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(to, "out", "run.sh")));
        Assert.Equal((UnixFileMode)0x1A0, File.GetUnixFileMode(Path.Combine(to, "out", "a file with spaces.txt")));
        Assert.Contains(Path.Combine(to, "out", "ünïcödé-日本.txt"), download.Stdout);
    }

    [Fact]
    public async Task An_input_tree_with_a_symlink_pointing_out_is_refused_before_anything_is_sent()
    {
        var inputs = node.NewDirectory("leaky");
        await File.WriteAllTextAsync(Path.Combine(inputs, "fine.txt"), "fine\n");
        File.CreateSymbolicLink(Path.Combine(inputs, "passwd"), "/etc/passwd");
        var before = node.InputFiles();

        var result = await node.RunAsync("--addjob=cat leaky*/passwd", $"--input={inputs}");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"{Path.Combine(inputs, "passwd")} is a symbolic link to /etc/passwd, which points out of {inputs}", result.Stderr);
        Assert.Equal(before, node.InputFiles());
    }

    [Fact]
    public async Task A_fifo_or_a_device_given_as_input_is_refused_at_once_not_opened()
    {
        var inputs = node.NewDirectory("piped");
        await File.WriteAllTextAsync(Path.Combine(inputs, "fine.txt"), "fine\n");
        var fifo = Path.Combine(inputs, "pipe");
        Assert.Equal(0, (await Lcluster.TestSupport.Cli.RunProgramAsync("mkfifo", [fifo])).ExitCode);
        var before = node.InputFiles();

        // Opening the fifo to read it would wait for a writer that never comes: the call would hang.
        var inTree = await node.RunAsync("--addjob=true", $"--input={inputs}").WaitAsync(Soon);
        var given = await node.RunAsync("--addjob=true", $"--input={fifo}").WaitAsync(Soon);
        var device = await node.RunAsync("--addjob=true", "--input=/dev/zero").WaitAsync(Soon);

        Assert.True(inTree.ExitCode == 2, inTree.ToString());
        Assert.Contains($"{fifo} is a fifo: inputs carry directories and regular files only", inTree.Stderr);
        Assert.True(given.ExitCode == 2, given.ToString());
        Assert.Contains($"{fifo} is a fifo", given.Stderr);
        Assert.True(device.ExitCode == 2, device.ToString());
        Assert.Contains("/dev/zero is a character device", device.Stderr);
        Assert.Equal(before, node.InputFiles());
    }

    [Theory]
    [InlineData("--artifact=../etc/passwd", "climbs with '..'")]
    [InlineData("--artifact=out/../../etc", "climbs with '..'")]
    [InlineData("--artifact=/etc/shadow", "is absolute")]
    [InlineData("--artifact=/work/out", "is absolute: paths are relative to /work (write out)")]
    public async Task Artifact_paths_that_are_absolute_or_climb_out_of_work_are_refused(string flag, string why)
    {
        var result = await node.RunAsync("--addjob=true", flag);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(why, result.Stderr);
    }

    [Fact]
    public async Task A_job_that_links_work_out_to_etc_gets_nothing_collected_through_the_link()
    {
        var (id, job, run) = await node.RunJobAsync(
            "--addjob=ln -s /etc /work/out && echo real > real.txt && ln -s /etc/shadow shadow-link",
            "--artifact=out/shadow", "--artifact=out", "--artifact=real.txt", "--artifact=shadow-link");
        var to = Path.Combine(node.Scratch, "planted-" + id);
        var download = await node.RunAsync($"--download={id}", $"--to={to}");

        Assert.True(run.ExitCode == 0, run.ToString());
        var reason = job.GetProperty("reason").GetString()!;
        Assert.Contains("out is a symbolic link, not followed ('out/shadow' goes through it)", reason);
        Assert.Contains("shadow-link is a symbolic link, not followed", reason);
        Assert.Equal(1, job.GetProperty("artifact_files").GetInt32());
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal(["real.txt"], Directory.GetFileSystemEntries(to).Select(Path.GetFileName));
        Assert.Equal("real\n", await File.ReadAllTextAsync(Path.Combine(to, "real.txt")));
    }

    [Fact]
    public async Task Inputs_over_the_nodes_limit_are_refused_with_the_limit_and_nothing_is_left_on_the_node()
    {
        var inputs = node.NewDirectory("big");
        await File.WriteAllBytesAsync(Path.Combine(inputs, "big.bin"), new byte[FilesNode.MaxInput + (1 << 20)]);
        var jobsBefore = (await node.RunAsync("--listjobs", "--json")).Stdout;

        var result = await node.RunAsync("--addjob=true", $"--input={inputs}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("the inputs are over this node's limit of 2 MiB (--max-input", result.Stderr);
        await node.WaitUntilAsync(() => node.InputFiles().Length == 0, TimeSpan.FromSeconds(5),
            $"the refused upload to leave DATA_DIR/inputs (holds {string.Join(", ", node.InputFiles())})");
        Assert.Equal(jobsBefore, (await node.RunAsync("--listjobs", "--json")).Stdout);
    }

    [Fact]
    public async Task Download_of_another_users_job_is_refused_while_the_user_gets_their_own()
    {
        var (theirs, _, run) = await node.RunJobAsync("--addjob=echo secret > secret.txt", "--artifact=secret.txt");
        Assert.True(run.ExitCode == 0, run.ToString());
        var scratch = OtherUser.WritableDirectory();
        try
        {
            var added = await OtherUser.RunAsync(node.Server, "--addjob=echo mine > mine.txt", "--artifact=mine.txt", "--wait");
            Assert.True(added.ExitCode == 0, added.ToString());
            var own = added.Stdout.Split('\n')[0];

            var mine = await OtherUser.RunAsync(node.Server, $"--download={own}", $"--to={scratch}/own");
            var refused = await OtherUser.RunAsync(node.Server, $"--download={theirs}", $"--to={scratch}/theirs");

            Assert.True(mine.ExitCode == 0, mine.ToString());
            Assert.Equal("mine\n", await File.ReadAllTextAsync(Path.Combine(scratch, "own", "mine.txt")));
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains($"job {theirs} belongs to another user", refused.Stderr);
            Assert.False(Directory.Exists(Path.Combine(scratch, "theirs")), "a refused download made its destination");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task A_download_gives_no_one_else_write_and_comes_again_over_files_it_left_read_only()
    {
        // The job chooses its files' modes; the user who downloads them must not get a file others may change, and a
        // second download must replace a read-only file, not fail on it (the user is not root: modes bind).
        var scratch = OtherUser.WritableDirectory();
        try
        {
            var added = await OtherUser.RunAsync(node.Server,
                "--addjob=mkdir out && echo open > out/open && chmod 4777 out/open && echo fixed > out/fixed && chmod 444 out/fixed",
                "--artifact=out", "--wait");
            Assert.True(added.ExitCode == 0, added.ToString());
            var id = added.Stdout.Split('\n')[0];

            var first = await OtherUser.RunAsync(node.Server, $"--download={id}", $"--to={scratch}/got");
            var again = await OtherUser.RunAsync(node.Server, $"--download={id}", $"--to={scratch}/got");

            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(scratch, "got", "out", "open")));
            Assert.Equal((UnixFileMode)0x124, File.GetUnixFileMode(Path.Combine(scratch, "got", "out", "fixed")));
            Assert.Equal("fixed\n", await File.ReadAllTextAsync(Path.Combine(scratch, "got", "out", "fixed")));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task A_download_replaces_a_hard_linked_file_without_writing_into_the_other_name()
    {
        var (id, _, run) = await node.RunJobAsync("--addjob=mkdir out && echo new > out/f", "--artifact=out");
        Assert.True(run.ExitCode == 0, run.ToString());
        var to = Path.Combine(node.Scratch, "linked-" + id);
        Directory.CreateDirectory(Path.Combine(to, "out"));
        var elsewhere = Path.Combine(node.Scratch, "elsewhere-" + id);
        await File.WriteAllTextAsync(elsewhere, "mine\n");
        using (var link = System.Diagnostics.Process.Start("/bin/ln", [elsewhere, Path.Combine(to, "out", "f")]))
        {
            await link.WaitForExitAsync();
            Assert.Equal(0, link.ExitCode);
        }

        var download = await node.RunAsync($"--download={id}", $"--to={to}");

        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal("new\n", await File.ReadAllTextAsync(Path.Combine(to, "out", "f")));
        Assert.Equal("mine\n", await File.ReadAllTextAsync(elsewhere));
    }

    [Fact]
    public async Task A_download_that_fails_on_a_name_the_job_chose_says_so_without_its_control_characters()
    {
        // The job names a file with a terminal escape; a directory in its place makes the write fail, and the error's
        // path carries the name.
        var (id, _, run) = await node.RunJobAsync("--addjob=mkdir out && echo x > \"out/$(printf '\\033]0;owned\\007')\"", "--artifact=out");
        Assert.True(run.ExitCode == 0, run.ToString());
        var to = Path.Combine(node.Scratch, "escape-" + id);
        Directory.CreateDirectory(Path.Combine(to, "out", "\u001b]0;owned\u0007", "in the way"));

        var download = await node.RunAsync($"--download={id}", $"--to={to}");

        Assert.True(download.ExitCode == 1, download.ToString());
        Assert.Contains("\\x1b]0;owned\\x07", download.Stderr);
        Assert.DoesNotContain("\u001b", download.Stderr);
        Assert.DoesNotContain("\u0007", download.Stderr);
    }

    [Fact]
    public async Task A_sparse_file_is_not_collected_past_what_the_jobs_work_could_hold()
    {
        // A file of holes costs a tmpfs nothing and would be written out as zeros: 200 MiB on the node's disk, kept for
        // the retention time, from a job allowed 1 MiB.
        var (id, job, run) = await node.RunJobAsync(
            "--addjob=mkdir out && truncate -s 200M out/holes && echo real > out/real.txt",
            "--disk=1M", "--artifact=out");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(1, job.GetProperty("artifact_files").GetInt32());
        Assert.Equal(5, job.GetProperty("artifact_bytes").GetInt64());
        Assert.Contains("1 file(s) left out over the artifact cap of 1 MiB (what the job's /work holds)", job.GetProperty("reason").GetString());
        var to = Path.Combine(node.Scratch, "sparse-" + id);
        var download = await node.RunAsync($"--download={id}", $"--to={to}");
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal(["real.txt"], Directory.GetFileSystemEntries(Path.Combine(to, "out")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Artifacts_with_tabs_and_backslashes_in_their_names_come_back_and_a_newline_is_said_to_be_left_out()
    {
        // A name may hold a tab or a backslash: pax carries them, and the download reads them back. A newline too, but
        // .NET's tar reader then refuses the whole archive: that file is left out, saying why, and the rest come back.
        var (id, job, run) = await node.RunJobAsync(
            "--addjob=mkdir out && printf one > \"$(printf 'out/new\\nline')\" && printf two > \"$(printf 'out/tab\\tand\\\\back')\" && echo three > out/plain",
            "--artifact=out");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, job.GetProperty("artifact_files").GetInt32());
        Assert.Contains("out/new\\nline has a newline in its name, which artifacts cannot carry", job.GetProperty("reason").GetString());

        var to = Path.Combine(node.Scratch, "names-" + id);
        var download = await node.RunAsync($"--download={id}", $"--to={to}");
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.False(File.Exists(Path.Combine(to, "out", "new\nline")));
        Assert.Equal("two", await File.ReadAllTextAsync(Path.Combine(to, "out", "tab\tand\\back")));
        Assert.Equal("three\n", await File.ReadAllTextAsync(Path.Combine(to, "out", "plain")));
    }

    [Fact]
    public async Task With_a_disk_limit_work_holds_the_inputs_and_writes_stop_at_the_limit()
    {
        var inputs = node.NewDirectory("disk");
        await File.WriteAllBytesAsync(Path.Combine(inputs, "data.bin"), new byte[1 << 20]);
        var name = Path.GetFileName(inputs);

        var (_, job, run) = await node.RunJobAsync(
            $"--addjob=wc -c < {name}/data.bin; dd if=/dev/zero of=fill bs=1M count=32 2>&1; echo dd=$?",
            $"--input={inputs}", "--disk=4M", "--memory=128M");

        Assert.True(run.ExitCode == 0, $"{run}\n{job}");
        var lines = run.Stdout.Split('\n');
        Assert.Equal("1048576", lines[1].Trim());
        Assert.Contains("No space left on device", run.Stdout);
        Assert.Contains("dd=1", lines);
    }

    [Fact]
    public async Task Inputs_go_when_the_job_ends_and_its_artifacts_go_when_it_is_removed()
    {
        var inputs = node.NewDirectory("gone");
        await File.WriteAllTextAsync(Path.Combine(inputs, "x.txt"), "x\n");
        var added = await node.RunAsync("--addjob=sleep 2; cp -r gone* out", $"--input={inputs}", "--artifact=out");
        var id = added.Stdout.Trim();
        Assert.True(added.ExitCode == 0, added.ToString());
        var early = await node.RunAsync($"--download={id}", $"--to={node.Scratch}/early");
        Assert.True(early.ExitCode == 1 && early.Stderr.Contains("its artifacts are collected when it ends"), early.ToString());

        await node.WaitUntilAsync(async () => (await node.RunAsync($"--checkjob={id}")).Stdout.Contains("succeeded"), Soon, $"job {id} to succeed");
        await node.WaitUntilAsync(() => node.InputFiles().Length == 0, TimeSpan.FromSeconds(15),
            $"the inputs of finished job {id} to be deleted (DATA_DIR/inputs holds {string.Join(", ", node.InputFiles())})");
        var artifacts = Path.Combine(node.Daemon.DataDir, "output", id, "artifacts.tar");
        Assert.True(File.Exists(artifacts), $"no {artifacts}");

        Assert.Equal(0, (await node.RunAsync($"--removejob={id}")).ExitCode);
        await node.WaitUntilAsync(() => !File.Exists(artifacts), Soon, $"{artifacts} to be deleted with its job");
        var gone = await node.RunAsync($"--download={id}", $"--to={node.Scratch}/gone");
        Assert.True(gone.ExitCode == 3, gone.ToString());
    }

    [Fact]
    public async Task The_node_refuses_archives_and_artifact_paths_that_escape_from_a_client_that_does_not_check()
    {
        using var channel = NodeChannel.Open(node.Server);
        var client = new Lclusterd.LclusterdClient(channel);

        var climbing = await UploadAsync(client, TarEntryType.RegularFile, "../../etc/cron.d/evil");
        var linking = await UploadAsync(client, TarEntryType.SymbolicLink, "shadow", "/etc/shadow");
        var absolute = await Assert.ThrowsAsync<RpcException>(() =>
            client.AddJobAsync(new AddJobRequest { Command = "true", Artifacts = { "/etc/shadow" } }).ResponseAsync);
        var up = await Assert.ThrowsAsync<RpcException>(() =>
            client.AddJobAsync(new AddJobRequest { Command = "true", Artifacts = { "a/../../x" } }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, "input '../../etc/cron.d/evil' climbs with '..': nothing outside /work can be reached"), climbing);
        Assert.Equal(StatusCode.InvalidArgument, linking.Code);
        Assert.Contains("input 'shadow' is a symbolic link (to '/etc/shadow'): inputs carry directories and regular files only", linking.Detail);
        Assert.Equal(StatusCode.InvalidArgument, absolute.StatusCode);
        Assert.Contains("artifact '/etc/shadow' is absolute", absolute.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, up.StatusCode);
        Assert.Contains("climbs with '..'", up.Status.Detail);
        await node.WaitUntilAsync(() => node.InputFiles().Length == 0, TimeSpan.FromSeconds(5), "the refused uploads to leave DATA_DIR/inputs");
    }

    [Fact]
    public async Task An_upload_names_only_the_jobs_that_still_use_it()
    {
        // One upload, named by one job that stays and by an array that ends: the record keeps naming the one that
        // stays, not every job that ever used the upload (one job kept alive would let it grow for ever, read at each sweep).
        using var channel = NodeChannel.Open(node.Server);
        var client = new Lclusterd.LclusterdClient(channel);
        var upload = await UploadOkAsync(client);
        var holder = (await client.AddJobAsync(new AddJobRequest { Command = "sleep 600", Inputs = upload })).Id;
        var tasks = (await client.AddJobAsync(new AddJobRequest { Command = "cat data.txt", Inputs = upload, Array = new ArrayRange { First = 1, Last = 20 } })).Ids;
        try
        {
            daemon::Lcluster.Daemon.Store.UploadRecord Record() => daemon::Lcluster.Daemon.Store.UploadRecord.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(node.InputsDirectory, upload + ".upload")));
            Assert.Equal(21, Record().Jobs.Count);

            foreach (var task in tasks)
                await node.WaitUntilAsync(async () => (await client.CheckJobAsync(new CheckJobRequest { Id = task })).State == JobState.Succeeded, Soon, $"task {task} to succeed");
            await node.WaitUntilAsync(() => Record().Jobs.SequenceEqual([holder]), Soon, "the upload's record to name the holder alone");
        }
        finally
        {
            // Even when the above failed: it holds one of the class's two slots for ten minutes otherwise.
            await client.RemoveJobAsync(new RemoveJobRequest { Id = holder });
        }
        await node.WaitUntilAsync(() => !File.Exists(Path.Combine(node.InputsDirectory, upload + ".upload")), Soon, "the upload to go with its last job");
    }

    /// <summary>Uploads an archive of one file, data.txt; returns the upload's id.</summary>
    private static async Task<string> UploadOkAsync(Lclusterd.LclusterdClient client)
    {
        using var call = await SendOneEntryAsync(client, TarEntryType.RegularFile, "data.txt");
        return (await call.ResponseAsync).Id;
    }

    /// <summary>Uploads a one-entry archive as any gRPC client could; returns the node's status.</summary>
    private static async Task<(StatusCode Code, string Detail)> UploadAsync(Lclusterd.LclusterdClient client, TarEntryType type, string name, string? link = null)
    {
        using var call = await SendOneEntryAsync(client, type, name, link);
        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        return (refused.StatusCode, refused.Status.Detail);
    }

    /// <summary>Sends an archive of one entry (a link to <paramref name="link"/>, or "payload\n") as an upload; the answer is the caller's.</summary>
    private static async Task<AsyncClientStreamingCall<FileChunk, UploadInputsResponse>> SendOneEntryAsync(
        Lclusterd.LclusterdClient client, TarEntryType type, string name, string? link = null)
    {
        var archive = new MemoryStream();
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(type, name);
            if (link is not null)
                entry.LinkName = link;
            else
                entry.DataStream = new MemoryStream("payload\n"u8.ToArray());
            await writer.WriteEntryAsync(entry);
        }
        var call = client.UploadInputs();
        await call.RequestStream.WriteAsync(new FileChunk { Data = Google.Protobuf.ByteString.CopyFrom(archive.ToArray()) });
        await call.RequestStream.CompleteAsync();
        return call;
    }
}
