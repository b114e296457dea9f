using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

/// <summary>A user's bytes quota on one node: the usage ledger as watched, plus the jobs admitted here and not yet seen in it.</summary>
public sealed class QuotaLedgerTests
{
    private const long Quota = 1000;

    private static (string, long)[] Jobs(params (string Id, long Bytes)[] jobs) => jobs;

    [Fact]
    public void Requests_admitted_at_the_same_moment_count_each_other_until_the_ledger_shows_their_jobs()
    {
        var ledger = new QuotaLedger();
        ledger.Load([(Keys.UsageEntry("carol", "old"), 300)]);

        var first = ledger.Admit("carol", Jobs(("a", 600)), Quota, nowMs: 0);
        var second = ledger.Admit("carol", Jobs(("b", 600)), Quota, nowMs: 0); // before the first's Txn ended

        Assert.True(first.Fits);
        Assert.Equal(300, first.Held);
        Assert.False(second.Fits);
        Assert.Equal(900, second.Held);
        Assert.Empty(second.Charged);

        // Created: charged until the watch shows its usage key, then counted from the ledger alone (not twice).
        ledger.Created(first, ["a"], nowMs: 5);
        Assert.Equal(900, ledger.Admit("carol", Jobs(("c", 101)), Quota, nowMs: 6).Held);
        ledger.Stored(Keys.UsageEntry("carol", "a"), 600);
        Assert.Equal(0, ledger.Charged());
        Assert.Equal(900, ledger.StoredBytes("carol"));
        Assert.True(ledger.Admit("carol", Jobs(("d", 100)), Quota, nowMs: 7).Fits);

        // Another user is not held back by carol's.
        Assert.True(ledger.Admit("bob", Jobs(("e", 1000)), Quota, nowMs: 7).Fits);
    }

    [Fact]
    public void A_usage_entry_rewritten_with_a_jobs_output_counts_the_difference()
    {
        var ledger = new QuotaLedger();
        ledger.Load([(Keys.UsageEntry("carol", "a"), 300)]);

        ledger.Changed(Keys.UsageEntry("carol", "a"), 300, 700);
        Assert.Equal(700, ledger.StoredBytes("carol"));
        Assert.False(ledger.Admit("carol", Jobs(("b", 301)), Quota, nowMs: 0).Fits);

        ledger.Removed(Keys.UsageEntry("carol", "a"), 700);
        Assert.Equal(0, ledger.StoredBytes("carol"));
    }

    [Fact]
    public void A_failed_or_refused_request_gives_its_charge_back_and_one_that_found_its_jobs_made_charges_nothing()
    {
        var ledger = new QuotaLedger();
        var failed = ledger.Admit("carol", Jobs(("a", 700)), Quota, nowMs: 0);
        ledger.Release(failed);
        Assert.Equal(0, ledger.Charged());

        // A retried request whose first job exists already: only the job created now stays charged.
        var retried = ledger.Admit("carol", Jobs(("b", 300), ("c", 300)), Quota, nowMs: 0);
        ledger.Created(retried, ["c"], nowMs: 1);
        Assert.Equal(1, ledger.Charged());
        Assert.Equal(300, ledger.Admit("carol", Jobs(("z", 1)), Quota, nowMs: 2).Held);
    }

    [Fact]
    public void The_same_jobs_admitted_twice_at_once_are_charged_once_and_jobs_not_yet_created_are_counted_as_submitting()
    {
        var ledger = new QuotaLedger();
        var first = ledger.Admit("carol", Jobs(("a", 400), ("b", 400)), Quota, nowMs: 0);
        var again = ledger.Admit("carol", Jobs(("a", 400), ("b", 400)), Quota, nowMs: 0);

        Assert.True(again.Fits);
        Assert.Empty(again.Charged);
        Assert.Equal(2, again.Submitting);
        Assert.Equal(2, first.Submitting);
        ledger.Created(first, ["a", "b"], nowMs: 1);
        Assert.Equal(1, ledger.Admit("carol", Jobs(("c", 100)), Quota, nowMs: 1).Submitting); // a and b are created: etcd's count has them
    }

    [Fact]
    public void A_created_job_the_watch_never_showed_stops_counting_after_the_charge_lifetime()
    {
        var ledger = new QuotaLedger();
        var admitted = ledger.Admit("carol", Jobs(("a", 900)), Quota, nowMs: 0);
        ledger.Created(admitted, ["a"], nowMs: 10);

        Assert.False(ledger.Admit("carol", Jobs(("b", 200)), Quota, nowMs: 10 + QuotaLedger.ChargeLifetimeMs).Fits);
        Assert.True(ledger.Admit("carol", Jobs(("b", 200)), Quota, nowMs: 11 + QuotaLedger.ChargeLifetimeMs).Fits);
    }

    [Fact]
    public void A_deleted_job_gives_its_bytes_back_and_a_reload_replaces_the_view()
    {
        var ledger = new QuotaLedger();
        ledger.Stored(Keys.UsageEntry("carol", "a"), 800);
        Assert.False(ledger.Admit("carol", Jobs(("b", 300)), Quota, nowMs: 0).Fits);
        ledger.Removed(Keys.UsageEntry("carol", "a"), 800);
        Assert.Equal(0, ledger.StoredBytes("carol"));

        var admitted = ledger.Admit("carol", Jobs(("b", 300)), Quota, nowMs: 0);
        ledger.Created(admitted, ["b"], nowMs: 0);
        ledger.Load([(Keys.UsageEntry("carol", "b"), 300), (Keys.UsageEntry("carol", "c"), 100)]); // the watch broke; read again
        Assert.Equal(0, ledger.Charged());
        Assert.Equal(400, ledger.StoredBytes("carol"));
    }
}
