using System.Globalization;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// Where a job sorts in listings, newest submission first and then by id: the submission time in
/// ticks after the Unix epoch subtracted from 2^63−1, then the id. As text (19 digits, "-", the
/// id) it is the ORDER of the index keys and of page tokens, and sorts the same.
/// </summary>
internal readonly record struct OrderKey(long Inverted, string Id) : IComparable<OrderKey>
{
    public static OrderKey Of(Job job) =>
        new(long.MaxValue - (job.SubmittedAt.ToDateTimeOffset().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks), job.Id);

    /// <summary>The key an ORDER text stands for; null when the text is not one.</summary>
    public static OrderKey? Parse(string text) =>
        text.Length > 20 && text[19] == '-' &&
        long.TryParse(text.AsSpan(0, 19), NumberStyles.None, CultureInfo.InvariantCulture, out var inverted)
            ? new OrderKey(inverted, text[20..])
            : null;

    public int CompareTo(OrderKey other)
    {
        var byTime = Inverted.CompareTo(other.Inverted);
        return byTime != 0 ? byTime : string.CompareOrdinal(Id, other.Id);
    }

    public override string ToString() => Inverted.ToString("D19", CultureInfo.InvariantCulture) + "-" + Id;
}

/// <summary>
/// What a listing needs to know of every job, in memory, to choose a page: its order, state,
/// owner, name and the revision of its record, kept in order overall, per state and per owner (a
/// user who is not an admin always lists their own). Pure: it is fed job records and deletions,
/// and answers which jobs a page holds.
/// </summary>
internal sealed class ListingIndex
{
    /// <summary>One job as the index knows it.</summary>
    internal sealed record Entry(OrderKey Key, JobState State, string Owner, string Name, long ModRevision);

    private static readonly Comparer<Entry> ByOrder = Comparer<Entry>.Create((a, b) => a.Key.CompareTo(b.Key));

    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly SortedSet<Entry> _all = new(ByOrder);
    private readonly Dictionary<JobState, SortedSet<Entry>> _byState = [];
    private readonly Dictionary<string, SortedSet<Entry>> _byOwner = new(StringComparer.Ordinal);

    public int Count => _byId.Count;

    /// <summary>A job's record as written at <paramref name="modRevision"/>: added, or put in place of what it was.</summary>
    public void Put(JobRecord record, long modRevision)
    {
        var job = record.Job;
        Remove(job.Id);
        var entry = new Entry(OrderKey.Of(job), job.State, Owner(job.Owner), job.Name, modRevision);
        _byId[job.Id] = entry;
        _all.Add(entry);
        if (!_byState.TryGetValue(entry.State, out var inState))
            _byState[entry.State] = inState = new SortedSet<Entry>(ByOrder);
        inState.Add(entry);
        if (!_byOwner.TryGetValue(entry.Owner, out var owned))
            _byOwner[entry.Owner] = owned = new SortedSet<Entry>(ByOrder);
        owned.Add(entry);
    }

    public void Remove(string id)
    {
        if (!_byId.Remove(id, out var entry))
            return;
        _all.Remove(entry);
        _byState[entry.State].Remove(entry);
        var owned = _byOwner[entry.Owner];
        owned.Remove(entry);
        if (owned.Count == 0)
            _byOwner.Remove(entry.Owner);
    }

    /// <summary>
    /// The jobs of one page: those the filter takes, newest submission first, after
    /// <paramref name="after"/> (null: from the newest), at most <paramref name="pageSize"/>;
    /// and whether the filter takes any job after them.
    /// </summary>
    public (IReadOnlyList<Entry> Page, bool More) Select(JobFilter filter, int pageSize, OrderKey? after)
    {
        // The smallest set that holds every job the filter can take; the rest of the filter is checked entry by entry.
        var set = filter.Owner is { } only ? _byOwner.GetValueOrDefault(only)
            : filter.State == JobState.Unspecified ? _all : _byState.GetValueOrDefault(filter.State);
        var page = new List<Entry>(Math.Min(pageSize, _byId.Count));
        if (set is null || set.Count == 0)
            return (page, false);
        IEnumerable<Entry> from = set;
        if (after is { } start)
        {
            var last = set.Max!;
            if (start.CompareTo(last.Key) >= 0)
                return (page, false);
            from = set.GetViewBetween(new Entry(start, JobState.Unspecified, "", "", 0), last);
        }
        foreach (var entry in from)
        {
            if (after is { } skip && entry.Key.CompareTo(skip) == 0)
                continue;
            if ((filter.State != JobState.Unspecified && entry.State != filter.State) || (filter.Owner is { } owner && entry.Owner != owner)
                || (filter.Name is { } name && entry.Name != name))
                continue;
            if (page.Count == pageSize)
                return (page, true);
            page.Add(entry);
        }
        return (page, false);
    }

    /// <summary>The owner's name as the index holds it already, so that one string serves all of an owner's jobs.</summary>
    private string Owner(string owner) => _byOwner.TryGetValue(owner, out var owned) ? owned.Min!.Owner : owner;
}
