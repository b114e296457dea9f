using Lcluster.Runtime.Processes;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

/// <summary>Bad input gets an ArgumentException naming the problem, before anything is created.</summary>
public sealed class ValidationTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    public static TheoryData<string, string> BadSpecs => new()
    {
        { "job id", "job id \"Bad_Id\" must be 1-64 of [a-z0-9-]" },
        { "relative rootfs", "rootfs \"rootfs\" is not an absolute path" },
        { "comma in rootfs", "which overlayfs cannot take" },
        { "missing rootfs", "is not a directory" },
        { "empty command", "the command is empty or contains a NUL byte" },
        { "NUL in command", "the command is empty or contains a NUL byte" },
        { "hostname", "hostname \"bad host\" must be 1-63" },
        { "env name", "environment variable \"A=B\"" },
        { "negative memory", "memory limit -1 is negative" },
        { "NaN cpus", "cpu limit NaN is not a non-negative number" },
        { "negative wall time", "wall-time limit -00:00:01 is negative" },
        { "relative stdout", "stdout path out.txt is not absolute" },
        { "same output file", "give each its own file" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task A_bad_spec_is_refused_with_a_clear_message_and_creates_nothing(string problem, string message)
    {
        var spec = Break(fixture.Spec("true"), problem);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Sandbox.StartAsync(spec, CancellationToken.None));
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(Path.Combine(fixture.JobsDirectory, spec.JobId)));
        Assert.Empty(HostCgroups.Existing(fixture.CgroupParent, spec.JobId));
    }

    [Fact]
    public async Task A_job_id_already_running_is_refused()
    {
        var spec = fixture.Spec("sleep 100");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Sandbox.StartAsync(spec, CancellationToken.None));
        Assert.Contains("already running", e.Message);
        await container.KillAsync();
    }

    [Fact]
    public void Bad_options_are_refused_with_a_clear_message()
    {
        var good = fixture.Options();
        Assert.Contains("cgroup parent \"../escape\"", Assert.Throws<ArgumentException>(() => new Sandbox(good with { CgroupParent = "../escape" })).Message);
        Assert.Contains("is not an absolute path", Assert.Throws<ArgumentException>(() => new Sandbox(good with { WorkDirectory = "jobs" })).Message);
        Assert.Contains("init program /nonexistent", Assert.Throws<ArgumentException>(() => new Sandbox(good with { InitProgram = "/nonexistent" })).Message);
    }

    [Fact]
    public async Task An_init_program_that_is_not_an_init_fails_the_start_with_its_own_words()
    {
        var sandbox = new Sandbox(fixture.Options($"{SandboxFixture.TestCgroupRoot}/{fixture.Id}-badinit", prestarted: 0)
            with { InitProgram = "/bin/false", WorkDirectory = Path.Combine(fixture.Work, "badinit") });
        await using (sandbox)
        {
            var spec = fixture.Spec("true");
            var e = await Assert.ThrowsAsync<SandboxException>(() => sandbox.StartAsync(spec, CancellationToken.None));
            Assert.Contains("could not start a container init (/bin/false)", e.Message);
            Assert.Contains("ended before it was ready (exit code 1)", e.Message);
            Assert.False(Directory.Exists(Path.Combine(fixture.Work, "badinit", spec.JobId)));
        }
    }

    [Fact]
    public void The_init_message_survives_its_wire_format()
    {
        var message = new InitMessage("host", "/lower", "/job", null, "echo 'ünïcødé' \"$X\"",
            64 << 20, ["A=1", "B=with=equals", "C="]);
        var frame = message.Encode();
        Assert.Equal(frame.Length - 4, InitMessage.ReadInt32(frame));
        var decoded = InitMessage.Decode(frame.AsSpan(4));
        Assert.Equal(message with { Environment = decoded.Environment }, decoded);
        Assert.Equal(message.Environment, decoded.Environment);
    }

    private SandboxSpec Break(SandboxSpec spec, string problem) => problem switch
    {
        "job id" => spec with { JobId = "Bad_Id" },
        "relative rootfs" => spec with { RootFs = "rootfs" },
        "comma in rootfs" => spec with { RootFs = "/tmp/a,b" },
        "missing rootfs" => spec with { RootFs = "/nonexistent-rootfs" },
        "empty command" => spec with { Command = "" },
        "NUL in command" => spec with { Command = "echo \0" },
        "hostname" => spec with { Hostname = "bad host" },
        "env name" => spec with { Environment = new Dictionary<string, string> { ["A=B"] = "c" } },
        "negative memory" => spec with { Limits = new Limits { MemoryBytes = -1 } },
        "NaN cpus" => spec with { Limits = new Limits { Cpus = double.NaN } },
        "negative wall time" => spec with { Limits = new Limits { WallTime = TimeSpan.FromSeconds(-1) } },
        "relative stdout" => spec with { StdoutPath = "out.txt" },
        "same output file" => spec with { StderrPath = spec.StdoutPath },
        _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, null),
    };
}
