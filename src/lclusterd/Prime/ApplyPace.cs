namespace Lcluster.Daemon.Prime;

/// <summary>
/// How the prime paces its placements to etcd's apply loop. A placement costs etcd one Txn shared by many jobs, but
/// each job placed makes its node write twice soon after (running, then its end). When a burst of free slots (many
/// nodes joining a long queue) lets the prime place faster than etcd applies those writes, the member's committed
/// but not yet applied entries pile up; etcd 3.4 renews a lease only once it has applied what was committed before
/// the renewal, and refuses it after a second ("waiting for the applied index took too long"), so the nodes lose
/// their leases and their running jobs. So a round places at most <see cref="Budget"/> jobs, as many as keep the
/// placements not yet started by their nodes within <see cref="MaxUnstarted"/> (a node's mark of a job running
/// rewrites its run key as started, and the prime sees that on its watch: the next round places more). And before
/// each placement Txn the prime reads the backlog (etcd's Status) and waits while it is over
/// <see cref="MaxBacklog"/>, for at most <see cref="MaxWait"/>: pacing slows placement while etcd or the nodes are
/// behind, it never stops it. With only a few placements on their way (<see cref="ReadsBacklog"/>) the read is
/// skipped: what they owe etcd is a fraction of the backlog it would wait for, so the read would be a request per
/// job for nothing on a quiet cluster.
/// </summary>
internal static class ApplyPace
{
    /// <summary>
    /// Entries etcd may have committed and not applied before the prime holds back: at the write rate the simulator
    /// sustains on two cores (some 1,200 revisions a second: 500 jobs placed, 2.4 writes each) about a tenth of a
    /// second of work, well inside etcd's second.
    /// </summary>
    public const long MaxBacklog = 128;

    /// <summary>How often the backlog is read again while the prime waits.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest one placement Txn waits for etcd to catch up.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Placements the prime lets be on their way at once: placed, and not yet marked started by their node. The
    /// backlog above shows a node's writes only once it sends them, and nodes write later than the prime places: a
    /// thousand nodes given 3,600 jobs within four seconds sent their 7,200 writes over the next ten, long after the
    /// backlog read before each placement had let all of those placements through. Each job placed and not started
    /// owes etcd two writes; 256 of them are about 0.4 s of etcd's work at the rate above.
    /// </summary>
    public const int MaxUnstarted = 256;

    /// <summary>How many jobs a round may place when <paramref name="unstarted"/> placements are not started yet.</summary>
    public static int Budget(int unstarted) => Math.Max(0, MaxUnstarted - unstarted);

    /// <summary>
    /// Placements on their way (not started, this round's included) up to which the prime does not read etcd's
    /// backlog: their two writes each are a quarter of <see cref="MaxBacklog"/> at most.
    /// </summary>
    public const int FewOnTheirWay = (int)(MaxBacklog / 8);

    /// <summary>Whether a round that leaves <paramref name="onTheirWay"/> placements not started reads etcd's backlog before each Txn.</summary>
    public static bool ReadsBacklog(int onTheirWay) => onTheirWay > FewOnTheirWay;

    /// <summary>Whether to wait (again) before the next placement: etcd is behind and the wait so far is under its cap.</summary>
    public static bool ShouldWait(long backlog, TimeSpan waited) => backlog > MaxBacklog && waited < MaxWait;
}
