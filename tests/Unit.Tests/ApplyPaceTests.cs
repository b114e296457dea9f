using Lcluster.Daemon.Prime;

namespace Lcluster.Unit.Tests;

public sealed class ApplyPaceTests
{
    [Theory]
    [InlineData(0, 0, false)] // etcd has applied everything
    [InlineData(ApplyPace.MaxBacklog, 0, false)] // at the bound: place
    [InlineData(ApplyPace.MaxBacklog + 1, 0, true)] // behind: wait
    [InlineData(5_000, 1_999, true)] // far behind, the cap not reached
    [InlineData(5_000, 2_000, false)] // far behind, but the cap reached: place anyway
    public void The_prime_waits_only_while_etcd_is_behind_and_never_past_the_cap(long backlog, int waitedMs, bool waits) =>
        Assert.Equal(waits, ApplyPace.ShouldWait(backlog, TimeSpan.FromMilliseconds(waitedMs)));

}
