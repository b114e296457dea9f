namespace Lcluster.Etcd.Watching;

/// <summary>What a watch reports besides the events of one key from now on.</summary>
public sealed record WatchOptions
{
    /// <summary>Every key that starts with the given key.</summary>
    public bool Prefix { get; init; }

    /// <summary>The first revision to report, inclusive (0: from now on).</summary>
    public long StartRevision { get; init; }

    /// <summary>Each event carries the key as it was before (Event.PrevKv).</summary>
    public bool PrevKv { get; init; }

    /// <summary>etcd sends an empty <see cref="WatchEvents"/> now and then while nothing happens, to say how far it got.</summary>
    public bool ProgressNotify { get; init; }
}
