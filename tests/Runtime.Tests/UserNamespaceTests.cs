using System.Globalization;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Tests;

/// <summary>
/// Each job runs in a user namespace of its own: root in the job is uid 0 there and an unprivileged block of host
/// ids outside, on its files and its processes alike, while the rootfs stays usable and the job stays contained.
/// </summary>
public sealed class UserNamespaceTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    private const string IdentityMap = "0 0 4294967295";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Root_in_a_job_is_uid_0_inside_and_an_unprivileged_host_id_outside()
    {
        var spec = fixture.Spec("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo ready; sleep 60");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var stdout = await WaitForAsync(spec, container, "ready\n");
        var hostStatus = File.ReadAllLines($"/proc/{container.Pid}/status");
        await container.KillAsync();

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines is ["0", "0", _, _, "ready"], stdout);
        var (uidMap, gidMap) = (Map(lines[2]), Map(lines[3]));
        Assert.True(uidMap.Inside == 0 && uidMap.Count == 65536 && uidMap.Outside >= new UserNamespaceOptions().FirstHostId, $"uid_map: {lines[2]}");
        Assert.Equal(uidMap, gidMap);
        // Seen from the host, the job's shell runs as the first id of the block, not as root.
        var expected = string.Join('\t', Enumerable.Repeat(uidMap.Outside.ToString(CultureInfo.InvariantCulture), 4));
        Assert.Contains($"Uid:\t{expected}", hostStatus);
        Assert.Contains($"Gid:\t{expected}", hostStatus);
    }

    [Fact]
    public async Task Files_a_job_creates_belong_on_the_host_to_its_mapped_root_not_to_host_root()
    {
        var spec = fixture.Spec("cat /proc/self/uid_map; echo x > /root/made-by-job; mkdir /made-dir; ls -ln /root/made-by-job; echo ready; sleep 60");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var stdout = await WaitForAsync(spec, container, "ready\n");
        var upper = Path.Combine(fixture.JobsDirectory, spec.JobId, "upper");
        var owners = new[] { "root/made-by-job", "made-dir", "root", "." }.ToDictionary(p => p, p => Owner(Path.Combine(upper, p)));
        await container.KillAsync();

        var first = Map(stdout.Split('\n')[0]).Outside;
        Assert.True(first >= new UserNamespaceOptions().FirstHostId, $"the job's root is host id {first}\n{stdout}");
        Assert.True(owners.Values.All(o => o == (first, first)),
            $"owners in the upper dir on the host: {string.Join(", ", owners.Select(o => $"{o.Key}={o.Value}"))}, expected {first}:{first}\n{stdout}");
        Assert.Matches(@"^-\S+\s+\d+\s+0\s+0\s", stdout.Split('\n')[1]); // and root's inside
    }

    [Fact]
    public async Task Host_roots_files_in_the_rootfs_are_the_jobs_roots_usable_and_writable_through_the_overlay()
    {
        var run = await fixture.RunAsync(
            "cat /proc/self/uid_map; ls -ln /bin/busybox | cut -c1-10; stat -c '%u:%g %a' /bin/busybox /etc/passwd /root; " +
            "/bin/busybox true && echo exec-ok; grep -c root /etc/passwd; echo hi > /root/new && cat /root/new; " +
            "touch /bin/new-in-bin && echo bin-writable; echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr; " +
            "chmod 666 /dev/null 2>&1 || echo host-node-refused"); // its own mode again: harmless were it allowed
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.NotEqual(IdentityMap, Normalized(run.Lines[0]));
        Assert.Equal(["-rwxr-xr-x", "0:0 755", "0:0 644", "0:0 700", "exec-ok", "1", "hi", "bin-writable", "to-stdout"], run.Lines[1..10]);
        Assert.Equal("to-stderr\n", run.Stderr);
        // The host's /dev/null, bound in, is the job's to use and host root's to change.
        Assert.True(run.Lines[10].Contains("Operation not permitted") && run.Lines[11] == "host-node-refused", run.Evidence);
        Assert.False(File.Exists(Path.Combine(RepoPaths.RootFs, "root/new")), "a job's write reached the host rootfs");
    }

    [Fact]
    public async Task Job_root_cannot_reach_host_roots_user_keyring_even_without_the_seccomp_filter()
    {
        // Without a user namespace any uid-0 process, in a container or not, has host root's user keyring as @u.
        await using var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-userkeys", prestarted: 1)
            with { WorkDirectory = Path.Combine(fixture.Work, "userkeys"), WithoutSeccompForTests = true });
        var (hostKey, jobKey) = ($"lcluster-host-{fixture.Id}", $"lcluster-job-{fixture.Id}");
        await using var keys = await HostKeys.AddAsync(hostKey);
        try
        {
            ProbeCall[] calls =
            [
                new("search_host_key", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecUserKeyring, "user", hostKey, 0),
                new("add_to_user_keyring", Sys.AddKey, "user", jobKey, "job-secret", 10, Sys.KeySpecUserKeyring),
            ];
            var run = await fixture.RunAsync(fixture.Spec(SyscallProbe.Script(calls), stdin: SyscallProbe.Build(calls)), sandbox);
            var results = SyscallProbe.Results(run.Stdout);
            Assert.True(results.GetValueOrDefault("search_host_key", -1) == Sys.ENOKEY, $"the job found host root's key in @u\n{run.Evidence}\nhost: {keys.Evidence}");
            Assert.True(results.GetValueOrDefault("add_to_user_keyring", -1) == 0, $"the job could not use a user keyring of its own\n{run.Evidence}");
            var (landed, _) = await HostKeys.RunAsync("search", "@u", "user", jobKey);
            Assert.True(landed != 0, "the job's key landed in host root's user keyring");
        }
        finally
        {
            if (await HostKeys.RunAsync("search", "@u", "user", jobKey) is (0, var serial))
                await HostKeys.RunAsync("unlink", serial.Trim(), "@u");
        }
    }

    [Fact]
    public async Task Capabilities_are_dockers_default_set_held_only_within_the_jobs_user_namespace()
    {
        var run = await fixture.RunAsync(
            "cat /proc/self/uid_map; readlink /proc/self/ns/user; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status | cut -f2; " +
            "touch /tmp/f; chown 65535 /tmp/f && echo chown-inside-ok; chown 70000 /tmp/f 2>&1; true");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.NotEqual(IdentityMap, Normalized(run.Lines[0]));
        Assert.NotEqual(new FileInfo("/proc/self/ns/user").LinkTarget, run.Lines[1]);
        Assert.Equal(["00000000a80425fb", "00000000a80425fb", "00000000a80425fb"], run.Lines[2..5]);
        // CAP_CHOWN works on the namespace's own ids, and cannot give a file to a host id outside its block.
        Assert.Equal("chown-inside-ok", run.Lines[5]);
        Assert.Contains("Invalid argument", run.Lines[6]);
    }

    [Fact]
    public async Task Containers_running_at_once_get_disjoint_host_id_blocks()
    {
        var specs = Enumerable.Range(0, 3).Select(_ => fixture.Spec("cat /proc/self/uid_map; echo ready; sleep 60")).ToArray();
        var containers = await Task.WhenAll(specs.Select(s => fixture.Sandbox.StartAsync(s, CancellationToken.None)));
        var outputs = await Task.WhenAll(specs.Zip(containers, (s, c) => WaitForAsync(s, c, "ready\n")));
        await Task.WhenAll(containers.Select(c => c.KillAsync()));
        var blocks = outputs.Select(o => Map(o.Split('\n')[0])).ToArray();
        Assert.True(blocks.Select(b => b.Outside).Distinct().Count() == 3 && blocks.All(b => b.Count == 65536),
            string.Join("\n", outputs));
        Assert.True(blocks.All(a => blocks.All(b => a == b || a.Outside + a.Count <= b.Outside || b.Outside + b.Count <= a.Outside)),
            $"overlapping blocks: {string.Join(", ", blocks)}");
    }

    [Fact]
    public async Task A_work_directory_below_a_directory_only_host_root_may_enter_still_works()
    {
        // The daemon keeps its work directory in its 0700 data dir: the init, unprivileged on the host, never walks it.
        var closed = Path.Combine(fixture.Work, "closed");
        Directory.CreateDirectory(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-closed", prestarted: 1)
            with { WorkDirectory = Path.Combine(closed, "jobs") });
        var run = await fixture.RunAsync(fixture.Spec("cat; id -u; echo hi > /root/x && cat /root/x", stdin: "from stdin\n"u8.ToArray()), sandbox);
        Assert.True(run.Result.ExitCode == 0 && run.Result.InfrastructureFailure is null, run.Evidence);
        Assert.Equal(["from stdin", "0", "hi"], run.Lines);
    }

    [Fact]
    public async Task With_user_namespaces_off_job_root_is_host_root_as_before()
    {
        await using var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-nouserns", prestarted: 1)
            with { WorkDirectory = Path.Combine(fixture.Work, "nouserns"), UserNamespaces = null });
        var run = await fixture.RunAsync(fixture.Spec("cat /proc/self/uid_map; id -u; grep CapEff /proc/self/status | cut -f2"), sandbox);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal([IdentityMap, "0", "00000000a80425fb"], [Normalized(run.Lines[0]), .. run.Lines[1..]]);
    }

    private static async Task<string> WaitForAsync(SandboxSpec spec, Container container, string marker)
    {
        var deadline = DateTime.UtcNow + Patience;
        string text;
        while (!(text = File.ReadAllText(spec.StdoutPath)).Contains(marker) && DateTime.UtcNow < deadline && !container.Completion.IsCompleted)
            await Task.Delay(10);
        Assert.True(text.Contains(marker), $"the job never printed \"{marker.Trim()}\" (ended: {container.Completion.IsCompleted}): {text}"
            + (container.Completion.IsCompleted ? $" {await container.Completion}" : ""));
        return text;
    }

    private static string Normalized(string mapLine) => string.Join(' ', mapLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static (long Inside, long Outside, long Count) Map(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.True(fields.Length == 3, $"not a one-line id map: \"{line}\"");
        return (fields[0], fields[1], fields[2]);
    }

    private static unsafe (uint Uid, uint Gid) Owner(string path)
    {
        StatxBuffer buffer;
        Assert.True(Libc.Statx(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, StatxBuffer.STATX_UID | StatxBuffer.STATX_GID, &buffer) == 0,
            $"statx {path}: errno {Errno.Last}");
        return (buffer.Uid, buffer.Gid);
    }
}
