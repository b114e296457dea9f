using System.Text;

namespace Lcluster.Runtime.Tests;

/// <summary>
/// A workspace is the job's /work and working directory: filled before the start, read after the
/// end (the container's mounts are gone by then), never in the host's mount table, never read
/// through a link the job planted.
/// </summary>
public sealed class WorkspaceTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task A_job_starts_in_work_finds_what_was_put_there_and_what_it_wrote_is_readable_after_it_ended()
    {
        var directory = Path.Combine(fixture.Work, "ws-" + Guid.NewGuid().ToString("N")[..8]);
        using var workspace = Workspace.OnDisk(directory);
        workspace.CreateDirectory("in dir", (UnixFileMode)0x1ED);
        await using (var file = workspace.CreateFile("in dir/run é.sh", (UnixFileMode)0x1ED))
            await file.WriteAsync(Encoding.UTF8.GetBytes("#!/bin/sh\necho ran\n"));

        var run = await fixture.RunAsync(fixture.Spec("pwd; './in dir/run é.sh'; stat -c %a 'in dir/run é.sh'; echo made > out.txt; ln -s /etc evil")
            with { Workspace = workspace });

        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal(["/work", "ran", "755"], run.Lines);
        Assert.DoesNotContain(directory, File.ReadAllText("/proc/self/mountinfo"));
        var top = workspace.List("").ToDictionary(e => e.Name);
        Assert.Equal(WorkspaceEntryKind.SymbolicLink, top["evil"].Kind);
        Assert.Equal(WorkspaceEntryKind.Directory, top["in dir"].Kind);
        using (var reader = new StreamReader(workspace.OpenFile("out.txt")))
            Assert.Equal("made\n", await reader.ReadToEndAsync());
        var refused = Assert.ThrowsAny<IOException>(() => workspace.OpenFile("evil/shadow"));
        Assert.Contains("symbolic link", refused.Message);
        workspace.Dispose();
        Assert.False(Directory.Exists(directory), $"{directory} is left after Dispose");
    }

    [Fact]
    public async Task A_workspace_under_a_shared_mount_is_no_peer_of_it_in_the_job()
    {
        // Under systemd / is a shared mount: a clone of it would stay in its peer group, and a mount made on the host
        // under the job's directory would appear in the job's /work (and one made in /work on the host).
        var shared = Path.Combine(fixture.Work, "shared-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(shared);
        Assert.Equal(0, await RunAsync("mount", "--bind", shared, shared));
        try
        {
            Assert.Equal(0, await RunAsync("mount", "--make-shared", shared));
            using var workspace = Workspace.OnDisk(Path.Combine(shared, "ws"));
            var run = await fixture.RunAsync(fixture.Spec("grep ' /work ' /proc/self/mountinfo") with { Workspace = workspace });

            Assert.True(run.Result.ExitCode == 0, run.Evidence);
            var work = Assert.Single(run.Lines);
            Assert.DoesNotContain("shared:", work);
            Assert.DoesNotContain("master:", work);
        }
        finally
        {
            Assert.Equal(0, await RunAsync("umount", "-l", shared));
            Directory.Delete(shared, recursive: true);
        }
    }

    /// <summary>A host program (mount, umount) run to its end: its exit code.</summary>
    private static async Task<int> RunAsync(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(program, args);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    [Fact]
    public async Task An_in_memory_workspace_outlives_the_container_and_fills_up_at_its_size()
    {
        using var workspace = Workspace.InMemory(4 << 20);
        await using (var file = workspace.CreateFile("input", (UnixFileMode)0x1A4))
            await file.WriteAsync(new byte[1 << 20]);

        var run = await fixture.RunAsync(fixture.Spec("pwd; test -e /work && echo work || echo no-work"));
        var withWork = await fixture.RunAsync(fixture.Spec(
            "wc -c < input; dd if=/dev/zero of=big bs=1M count=16 2>&1; echo dd=$?; rm big; echo kept > kept.txt") with { Workspace = workspace });

        Assert.Equal(["/", "no-work"], run.Lines); // without a workspace nothing changes
        Assert.True(withWork.Result.ExitCode == 0, withWork.Evidence);
        Assert.Equal("1048576", withWork.Lines[0]);
        Assert.Contains("No space left on device", withWork.Stdout);
        Assert.Contains("dd=1", withWork.Lines);
        using var reader = new StreamReader(workspace.OpenFile("kept.txt"));
        Assert.Equal("kept\n", await reader.ReadToEndAsync());
    }

    [Fact]
    public void Listing_a_huge_directory_with_a_limit_reads_no_more_names_than_the_limit()
    {
        // What a job leaves in /work is read by the daemon after it ended, outside the job's memory limit: a
        // directory of 20,000 long names must not be read whole to list ten of them.
        var directory = Path.Combine(fixture.Work, "ws-" + Guid.NewGuid().ToString("N")[..8]);
        using var workspace = Workspace.OnDisk(directory);
        var stem = new string('n', 200);
        for (var i = 0; i < 20_000; i++)
            File.Create(Path.Combine(directory, $"{stem}{i}")).Dispose();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var listed = workspace.List("", limit: 10);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(10, listed.Count);
        Assert.True(allocated < 256 << 10, $"listing 10 names allocated {allocated} bytes");
    }
}
