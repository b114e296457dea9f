using System.Diagnostics;

namespace Lcluster.Runtime.Tests;

/// <summary>The wall-time timer: any limit the API accepts can be armed, and it fires once, never early.</summary>
public sealed class WallTimeDeadlineTests
{
    [Theory]
    [InlineData(1200 * 3600.0)] // 50 days: past a timer's longest single wait
    [InlineData(365 * 24 * 3600.0)] // the longest limit a job may ask for
    public async Task A_limit_longer_than_a_timer_can_wait_at_once_is_armed_and_does_not_fire_early(double seconds)
    {
        var fired = 0;
        using (new WallTimeDeadline(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(seconds), () => Interlocked.Increment(ref fired)))
            await Task.Delay(200);
        Assert.Equal(0, fired);
    }

    [Fact]
    public async Task A_limit_waited_out_in_several_steps_fires_once_and_not_before_it_passed()
    {
        var limit = TimeSpan.FromMilliseconds(400);
        var started = Stopwatch.GetTimestamp();
        var fired = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        using var deadline = new WallTimeDeadline(started, limit, () =>
        {
            Interlocked.Increment(ref count);
            fired.TrySetResult(Stopwatch.GetElapsedTime(started));
        }, longestStep: TimeSpan.FromMilliseconds(30));
        var at = await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(at >= limit, $"fired after {at.TotalMilliseconds} ms, before the {limit.TotalMilliseconds} ms limit");
        await Task.Delay(200);
        Assert.Equal(1, count);
    }
}
