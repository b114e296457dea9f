using System.Diagnostics;

namespace Lcluster.Runtime;

/// <summary>
/// Calls back once a wall-time limit has passed, never before: the timer's clock
/// is coarser than Stopwatch's, so a tick that comes early re-arms for the rest.
/// </summary>
internal sealed class WallTimeDeadline : IDisposable
{
    private readonly long started;
    private readonly TimeSpan limit;
    private readonly Action expired;
    private readonly Timer timer;

    public WallTimeDeadline(long startedTimestamp, TimeSpan limit, Action expired)
    {
        started = startedTimestamp;
        this.limit = limit;
        this.expired = expired;
        timer = new Timer(Tick);
        timer.Change(limit, Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => timer.Dispose();

    private void Tick(object? state)
    {
        var left = limit - Stopwatch.GetElapsedTime(started);
        if (left > TimeSpan.Zero)
            timer.Change(left + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        else
            expired();
    }
}
