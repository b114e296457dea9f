using Lcluster.Shared;
using System.Globalization;
using System.Text;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// The index keys of a job record, as a pure function of the record (docs/etcd-keys.md).
/// Each holds a copy of the record, so a page of a listing is one range read:
/// <c>index/state/STATE/ORDER</c> for every job, <c>index/owner/OWNER/STATE/ORDER</c> per
/// owner, and <c>index/finished/TIME-ID</c> once a job has finished (oldest first, for
/// retention). ORDER sorts newest submission first: the submission time inverted, then the id.
/// </summary>
internal static class JobIndex
{
    public const string ByState = Keys.Index + "state/";
    public const string ByOwner = Keys.Index + "owner/";
    public const string Finished = Keys.Index + "finished/";

    /// <summary>Every state a job can be in, in the order listings merge them (any order works: ORDER decides).</summary>
    public static IReadOnlyList<JobState> States => Shared.JobStates.All;

    /// <summary>Newest submission first: ticks after the epoch, inverted and zero-padded, then the id.</summary>
    public static string Order(Job job) => OrderKey.Of(job).ToString();

    public static string StatePrefix(JobState state) => ByState + Name(state) + "/";

    public static string OwnerPrefix(string owner) => ByOwner + Escape(owner) + "/";

    public static string OwnerStatePrefix(string owner, JobState state) => OwnerPrefix(owner) + Name(state) + "/";

    /// <summary>The keys under which a listing finds this record (the state index, the owner's index).</summary>
    public static IReadOnlyList<string> Listed(JobRecord record) =>
    [
        StatePrefix(record.Job.State) + Order(record.Job),
        OwnerStatePrefix(record.Job.Owner, record.Job.State) + Order(record.Job),
    ];

    /// <summary>The retention key of a finished job; null while it has not finished.</summary>
    public static string? Expiry(JobRecord record) =>
        JobStates.IsFinished(record.Job.State) && record.Job.FinishedAt is { } finished
            ? Finished + ExpiryTime(finished.ToDateTimeOffset()) + "-" + record.Job.Id
            : null;

    /// <summary>The part of a retention key that sorts by finishing time: every key below ExpiryTime(cutoff) finished before it.</summary>
    public static string ExpiryTime(DateTimeOffset at) =>
        (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    public static string Name(JobState state) => Shared.JobStates.Name(state);

    /// <summary>An owner name as one key segment: letters, digits and "._@-" as they are, anything else %XX (UTF-8), so no name can reach another's keys.</summary>
    public static string Escape(string owner)
    {
        var text = new StringBuilder(owner.Length);
        foreach (var b in Encoding.UTF8.GetBytes(owner))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '-')
                text.Append(c);
            else
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return text.Length == 0 ? "%" : text.ToString();
    }
}
