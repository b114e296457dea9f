namespace Lcluster.Runtime.Tests;
public sealed class Scratch(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Show()
    {
        var run = await fixture.RunAsync(Environment.GetEnvironmentVariable("SCRATCH_CMD") ?? "true");
        Assert.Fail(run.Evidence);
    }
}
