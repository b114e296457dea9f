using System.Diagnostics;
using System.Diagnostics.Metrics;
using Lcluster.Daemon.Store;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Metrics;

/// <summary>
/// What this node did, as System.Diagnostics.Metrics instruments (docs/http.md, "Metrics"). Each job
/// transition is counted where it is committed — the fenced write that made it — so every transition is
/// counted once in the whole cluster, by the node that wrote it; summed over the nodes, the counters are
/// the cluster's. Without a listener (the exporter) the instruments cost next to nothing.
/// </summary>
internal static class DaemonMetrics
{
    public const string MeterName = "lcluster";

    /// <summary>Seconds, from a millisecond to an hour: starts take milliseconds, a queued job may wait long.</summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    };

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Submitted = Meter.CreateCounter<long>("lcluster_jobs_submitted", "{job}",
        "Jobs recorded by AddJob on this node (each task of an array counts)");

    private static readonly Counter<long> Placements = Meter.CreateCounter<long>("lcluster_placements", "{job}",
        "Jobs this node, as prime, placed on a node (label node: where)");

    private static readonly Counter<long> Starts = Meter.CreateCounter<long>("lcluster_job_starts", "{job}",
        "Jobs this node marked running (each attempt counts)");

    private static readonly Counter<long> Ends = Meter.CreateCounter<long>("lcluster_job_ends", "{job}",
        "Jobs that reached an end state in a write of this node (label state: succeeded, failed, cancelled, lost)");

    private static readonly Counter<long> OomKills = Meter.CreateCounter<long>("lcluster_job_oom_kills", "{job}",
        "Jobs that ended killed by the kernel for their memory limit");

    private static readonly Counter<long> TimeOuts = Meter.CreateCounter<long>("lcluster_job_timeouts", "{job}",
        "Jobs that ended killed for their wall-clock limit");

    private static readonly Counter<long> Requeues = Meter.CreateCounter<long>("lcluster_job_requeues", "{job}",
        "Jobs put back in the queue because their node died or restarted under them");

    private static readonly Histogram<double> SubmitToRunning = Meter.CreateHistogram("lcluster_job_submit_to_running_duration", "s",
        "From a job's submission to its being marked running (queue wait, placement, the node's pick-up)", advice: Seconds);

    private static readonly Histogram<double> StartDuration = Meter.CreateHistogram("lcluster_job_start_duration", "s",
        "From a placement reaching its node to the job's container running (record marked running, container built)", advice: Seconds);

    private static readonly Counter<long> PrimeTerms = Meter.CreateCounter<long>("lcluster_prime_changes", "{change}",
        "Times this node became prime (summed over the nodes: the cluster's prime changes)");

    private static readonly Counter<long> Rounds = Meter.CreateCounter<long>("lcluster_prime_rounds", "{round}",
        "Rounds this node, as prime, made over the queue and the nodes: one for each batch of changes, one a second at least");

    private static readonly Counter<long> HeldBack = Meter.CreateCounter<long>("lcluster_placements_held_back", "{txn}",
        "Placement Txns this node, as prime, held back because etcd was behind in applying what it had committed");

    private static readonly Counter<long> Listings = Meter.CreateCounter<long>("lcluster_listings", "{page}",
        "ListJobs pages this node served (label source: view, chosen from its in-memory view of the jobs; etcd, read from the index keys)");

    public static void JobsSubmitted(int count) => Submitted.Add(count);

    public static void BecamePrime() => PrimeTerms.Add(1);

    public static void PlacementHeldBack() => HeldBack.Add(1);

    public static void PrimeRound() => Rounds.Add(1);

    public static void Listed(bool fromView) => Listings.Add(1, new KeyValuePair<string, object?>("source", fromView ? "view" : "etcd"));

    /// <summary>The container of a job started on this node; <paramref name="pickedUp"/> is when its placement arrived (Stopwatch ticks).</summary>
    public static void ContainerStarted(long pickedUp) => StartDuration.Record(Stopwatch.GetElapsedTime(pickedUp).TotalSeconds);

    /// <summary>A job record moved from <paramref name="before"/> to <paramref name="after"/> in a write of this node.</summary>
    public static void Moved(JobRecord before, JobRecord after)
    {
        var (from, to) = (before.Job.State, after.Job.State);
        if (from == to)
            return;
        switch (to)
        {
            case JobState.Scheduled:
                Placements.Add(1, new KeyValuePair<string, object?>("node", after.Job.Node));
                break;
            case JobState.Running:
                Starts.Add(1);
                // The first attempt only: a retry's wait would include the run its node died under.
                if (after.Job.Attempts == 1 && after.Job.SubmittedAt is { } submitted && after.Job.StartedAt is { } started)
                    SubmitToRunning.Record(Math.Max(0, (started.ToDateTimeOffset() - submitted.ToDateTimeOffset()).TotalSeconds));
                break;
            case JobState.Queued:
                Requeues.Add(1);
                break;
            default:
                if (!JobStates.IsFinished(to))
                    break;
                Ends.Add(1, new KeyValuePair<string, object?>("state", JobStates.Name(to)));
                if (after.Job.OomKilled)
                    OomKills.Add(1);
                if (after.Job.TimedOut)
                    TimeOuts.Add(1);
                break;
        }
    }
}
