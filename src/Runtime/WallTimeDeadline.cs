using System.Diagnostics;

namespace Lcluster.Runtime;

/// <summary>
/// Calls back once a wall-time limit has passed, never before: the timer's clock
/// is coarser than Stopwatch's, so a tick that comes early re-arms for the rest.
/// A System.Threading.Timer takes at most ~49.7 days at once, so a longer limit
/// is waited out in steps of at most <see cref="LongestStep"/>.
/// </summary>
internal sealed class WallTimeDeadline : IDisposable
{
    /// <summary>The longest single wait: one day, well inside the timer's 2^32-2 ms.</summary>
    public static readonly TimeSpan LongestStep = TimeSpan.FromDays(1);

    private readonly long _started;
    private readonly TimeSpan _limit;
    private readonly TimeSpan _step;
    private readonly Action _expired;
    private readonly Timer _timer;

    public WallTimeDeadline(long startedTimestamp, TimeSpan limit, Action expired)
        : this(startedTimestamp, limit, expired, LongestStep)
    {
    }

    /// <summary>With a shorter longest step, so a test can watch a limit waited out in several.</summary>
    internal WallTimeDeadline(long startedTimestamp, TimeSpan limit, Action expired, TimeSpan longestStep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(longestStep, TimeSpan.Zero);
        _started = startedTimestamp;
        _limit = limit;
        _step = longestStep;
        _expired = expired;
        _timer = new Timer(Tick);
        Arm(limit);
    }

    public void Dispose() => _timer.Dispose();

    private void Arm(TimeSpan left) => _timer.Change(left < _step ? left : _step, Timeout.InfiniteTimeSpan);

    private void Tick(object? state)
    {
        var left = _limit - Stopwatch.GetElapsedTime(_started);
        if (left > TimeSpan.Zero)
            Arm(left + TimeSpan.FromMilliseconds(1));
        else
            _expired();
    }
}
