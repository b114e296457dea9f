using Lcluster.Runtime;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

public sealed class Smoke
{
    [Fact]
    public async Task Echo()
    {
        Requires.Root();
        var id = Guid.NewGuid().ToString("N")[..12];
        var work = Path.Combine(Path.GetTempPath(), "lcluster-rt-" + id);
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            InitProgram = Path.Combine(AppContext.BaseDirectory, "Lcluster.InitHost"),
            WorkDirectory = work,
            CgroupParent = "lcluster-test/" + id,
        });
        var container = await sandbox.StartAsync(new SandboxSpec
        {
            JobId = "job-" + id, RootFs = RepoPaths.RootFs, Command = "echo hello $LCLUSTER_JOB_ID; hostname; echo err >&2; exit 3",
            Hostname = "h-" + id, StdoutPath = work + "/out", StderrPath = work + "/err",
        }, CancellationToken.None);
        var result = await container.Completion;
        Assert.Equal("", result.StartFailure ?? "");
        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"hello job-{id}\nh-{id}\n", File.ReadAllText(work + "/out"));
        Assert.Equal("err\n", File.ReadAllText(work + "/err"));
        Assert.Null(result.InfrastructureFailure);
    }
}
