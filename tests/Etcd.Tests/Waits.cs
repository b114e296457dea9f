namespace Lcluster.Etcd.Tests;

/// <summary>Generous bounds for waiting on real etcd behaviour on a loaded 2-core machine; never a measure of speed.</summary>
internal static class Waits
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    public static CancellationToken Bound(TimeSpan? bound = null) => new CancellationTokenSource(bound ?? Long).Token;

    /// <summary>Awaits a task, failing with <paramref name="what"/> if it does not finish within the bound.</summary>
    public static async Task<T> Within<T>(this Task<T> task, string what, TimeSpan? bound = null)
    {
        var limit = bound ?? Long;
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
            throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s");
        return await task;
    }

    public static async Task Within(this Task task, string what, TimeSpan? bound = null)
    {
        var limit = bound ?? Long;
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
            throw new TimeoutException($"{what} did not happen within {limit.TotalSeconds} s");
        await task;
    }
}
