using Lcluster.Etcd.Api;

namespace Lcluster.Etcd.Watching;

/// <summary>
/// One batch of a watch, in revision order. <see cref="Revision"/> is the store revision etcd
/// had reached; a batch with no events is a progress notification: nothing in the watched
/// range changed up to <see cref="Revision"/>.
/// </summary>
public sealed record WatchEvents(long Revision, IReadOnlyList<Event> Events)
{
    public bool IsProgressNotify => Events.Count == 0;
}
