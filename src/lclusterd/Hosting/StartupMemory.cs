using Lcluster.Runtime.Host;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// Building the node (the web host with its services and routes, TLS, the first etcd reads) leaves megabytes of garbage,
/// and heap the GC keeps committed for it; an idle daemon allocates too little to ever collect them. Once the node has
/// settled (the agent's watches set up, the first prime round run), one compacting collection gives that memory back,
/// and so does malloc's trim for the native heap's free pages (compiling the seccomp filter, TLS set-up).
/// </summary>
internal static class StartupMemory
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    public static async Task ReleaseAsync(CancellationToken ct)
    {
        await Task.Delay(Settle, ct);
        ReleaseNow();
    }

    /// <summary>Gives back the heap garbage and free native pages leave committed, after work that made much of them.</summary>
    public static void ReleaseNow()
    {
        // Aggressive: compacts every generation and decommits the free space at once, not over the next collections.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
    }
}
