
namespace Lcluster.Runtime.Tests;

/// <summary>
/// A job never reaches the host's keys: seccomp refuses every keyring syscall,
/// and underneath it the job's session keyring is a new one of its own.
/// </summary>
public sealed class KeyringTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Keys_host_root_added_to_its_user_and_session_keyrings_are_out_of_a_jobs_reach()
    {
        var description = $"lcluster-host-{fixture.Id}";
        await using var keys = await HostKeys.AddAsync(description);
        ProbeCall[] searches =
        [
            new("session", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecSessionKeyring, "user", description, 0),
            new("user", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecUserKeyring, "user", description, 0),
            new("user_session", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecUserSessionKeyring, "user", description, 0),
            new("request_key", Sys.RequestKey, "user", description, 0, 0),
        ];
        var results = await ProbeAsync(fixture.Sandbox, searches);
        Assert.True(results.Values.All(errno => errno == Sys.EPERM),
            $"every keyring call must be refused: {string.Join(", ", results)}; host: {keys.Evidence}");
    }

    [Fact]
    public async Task Without_the_filter_a_jobs_session_keyring_is_new_and_shared_with_neither_the_daemon_nor_other_jobs()
    {
        // Seccomp hides the keyring entirely; this sandbox runs without it to show the keyring itself is fresh.
        await using var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-keys", prestarted: 1)
            with { WorkDirectory = Path.Combine(fixture.Work, "keys"), WithoutSeccompForTests = true });
        var hostKey = $"lcluster-host-{fixture.Id}";
        var jobKey = $"lcluster-job-{fixture.Id}";
        await using var keys = await HostKeys.AddAsync(hostKey);
        // The daemon (this process) possesses the host key through its session keyring: the search below must find it.
        var (found, _) = await HostKeys.RunAsync("search", "@s", "user", hostKey);
        Assert.True(found == 0, $"the test process should see its own key through @s: {keys.Evidence}");

        var first = await ProbeAsync(sandbox,
        [
            new("host_key", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecSessionKeyring, "user", hostKey, 0),
            new("add", Sys.AddKey, "user", jobKey, "secret", 6, Sys.KeySpecSessionKeyring),
            new("own_key", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecSessionKeyring, "user", jobKey, 0),
        ]);
        Assert.True(first["host_key"] == Sys.ENOKEY, $"the job found the daemon's key in its session keyring: {string.Join(", ", first)}");
        Assert.True(first["add"] == 0 && first["own_key"] == 0, $"the job could not use its own keyring: {string.Join(", ", first)}");

        var second = await ProbeAsync(sandbox,
            [new("first_jobs_key", Sys.Keyctl, Sys.KeyctlSearch, Sys.KeySpecSessionKeyring, "user", jobKey, 0)]);
        Assert.True(second["first_jobs_key"] == Sys.ENOKEY, $"a job saw another job's key: {string.Join(", ", second)}");
        var (leaked, _) = await HostKeys.RunAsync("search", "@s", "user", jobKey);
        Assert.True(leaked != 0, "a job's key reached the daemon's session keyring");
    }

    private async Task<IReadOnlyDictionary<string, int>> ProbeAsync(Sandbox sandbox, IReadOnlyList<ProbeCall> calls)
    {
        var spec = fixture.Spec(SyscallProbe.Script(calls), stdin: SyscallProbe.Build(calls));
        var run = await fixture.RunAsync(spec, sandbox);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        var results = SyscallProbe.Results(run.Stdout);
        Assert.True(calls.All(c => results.ContainsKey(c.Name)), run.Evidence);
        return results;
    }
}
