namespace Lcluster.Daemon.Hosting;

/// <summary>
/// Work the caller does not wait for (a kill, a job's start, a settlement): run on the thread pool, and a
/// failure of it logged with what it was, never dropped with an unobserved task. Cancellation is the daemon
/// stopping, and says nothing.
/// </summary>
internal static class Background
{
    public static void Run(Log log, string what, Func<Task> work) => _ = Task.Run(async () =>
    {
        try
        {
            await work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Error($"{what} failed: {e.Message}");
        }
    }, CancellationToken.None);
}
