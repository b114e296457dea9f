using Lcluster.TestSupport.Chaos;

namespace Lcluster.Unit.Tests;

/// <summary>The chaos checker on hand-made histories: a clean one passes; each broken promise is caught, and only it.</summary>
public sealed class ChaosCheckerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private const string J1 = "11111111-1111-1111-1111-111111111111", J2 = "22222222-2222-2222-2222-222222222222";

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    private static ClientOp Op(double at, ClientOpKind kind, string? job, string? state = null, int? exit = null, string? node = null, int attempts = 1) =>
        new(At(at), kind, 0, job ?? "tag") { JobId = job, State = state, ExitCode = exit, Node = node, Attempts = attempts };

    private static ContainerEvent Line(string kind, string node, double at, int pid, string? job = null, int attempt = 1, int? exit = null) =>
        new(node, kind, At(at), at, pid) { Job = job, Attempt = attempt, Incarnation = node + "-1", ExitCode = exit };

    /// <summary>J1 succeeds on n1 at the first try; J2 is lost on n2 (its daemon SIGKILLed), retried on n1 where it fails.</summary>
    private static ChaosHistory Clean() => new(
        [
            Op(0, ClientOpKind.Submit, null), Op(0.1, ClientOpKind.Ack, J1),
            Op(0.2, ClientOpKind.Submit, null), Op(0.3, ClientOpKind.Ack, J2),
            Op(1, ClientOpKind.Check, J1, "running", node: "n1"), Op(1, ClientOpKind.Check, J2, "running", node: "n2"),
            Op(5, ClientOpKind.Check, J1, "succeeded", 0, "n1"), Op(5, ClientOpKind.Check, J2, "queued", attempts: 1),
            Op(20, ClientOpKind.Check, J2, "failed", 3, "n1", attempts: 2),
            Op(30, ClientOpKind.Final, J1, "succeeded", 0, "n1"), Op(30, ClientOpKind.Final, J2, "failed", 3, "n1", attempts: 2),
        ],
        [new NemesisOp(At(2), "kill-daemon", "n2", "start"), new NemesisOp(At(6), "kill-daemon", "n2", "heal")],
        [
            Line("daemon-start", "n1", 0, 100), Line("start", "n1", 0.5, 501, J1), Line("end", "n1", 3, 501, J1, exit: 0),
            Line("start", "n1", 10, 502, J2, attempt: 2), Line("end", "n1", 12, 502, J2, attempt: 2, exit: 3),
            Line("daemon-start", "n2", 0, 200), Line("start", "n2", 0.6, 601, J2),
            Line("daemon-start", "n2", 6, 201), Line("leftover", "n2", 6.1, 201, J2),
        ]);

    [Fact]
    public void A_clean_history_passes() => Assert.Empty(ChaosChecker.Check(Clean()));

    [Fact]
    public void The_figures_count_jobs_run_more_than_once_and_the_longest_wait_while_nothing_started()
    {
        // Starts at 0.5 (J1 on n1), 0.6 (J2 on n2), 10 (J2 again, on n1): J2 ran twice. Both were started soon after
        // their acknowledgement, so no acknowledged job waited while nothing started: no pause (J2's retry is no first start).
        var figures = ChaosChecker.Measure(Clean());
        Assert.Equal(1, figures.JobsRunMoreThanOnce);
        Assert.Equal(1, figures.RunsBeyondTheFirst);
        Assert.Equal(TimeSpan.FromSeconds(0.1), figures.LongestPause); // J2, acknowledged at 0.3, waited from J1's start at 0.5
        Assert.Equal(At(0.5), figures.PauseFrom);

        // A third job acknowledged at 4 and first started at 10 (nothing started from 0.6): a pause of 6 s, from its acknowledgement.
        const string J3 = "33333333-3333-3333-3333-333333333333";
        var h = Clean();
        h = h with
        {
            Client = [.. h.Client, Op(4, ClientOpKind.Ack, J3)],
            Containers = [.. h.Containers, Line("start", "n3", 10, 701, J3), Line("end", "n3", 11, 701, J3, exit: 0)],
        };
        var paused = ChaosChecker.Measure(h);
        Assert.Equal(TimeSpan.FromSeconds(6), paused.LongestPause);
        Assert.Equal(At(4), paused.PauseFrom);
    }

    [Fact]
    public void A_run_without_an_end_line_ends_when_the_nemesis_killed_its_daemon()
    {
        var run = ChaosChecker.Runs(Clean()).Single(r => r.Node == "n2");
        Assert.False(run.EndSeen);
        Assert.Equal(At(2), run.End);
    }

    [Fact]
    public void An_acknowledged_job_not_found_at_the_end_is_missing()
    {
        var h = Clean();
        h = h with { Client = [.. h.Client.Where(o => !(o.Kind == ClientOpKind.Final && o.JobId == J1)), Op(30, ClientOpKind.Final, J1)] };
        AssertOnly(h, "missing", J1);
    }

    [Fact]
    public void An_acknowledged_job_never_finished_or_never_read_at_the_end_breaks_final_state()
    {
        var h = Clean();
        var unfinished = h with { Client = [.. h.Client.Where(o => !(o.Kind == ClientOpKind.Final && o.JobId == J2)).Where(o => !(o.JobId == J2 && o.State == "failed")),
            Op(30, ClientOpKind.Final, J2, "queued", attempts: 2)] };
        AssertOnly(unfinished, "final-state", J2);
        var unread = h with { Client = [.. h.Client.Where(o => !(o.Kind == ClientOpKind.Final && o.JobId == J1))] };
        AssertOnly(unread, "final-state", J1);
    }

    [Fact]
    public void A_job_seen_finished_then_seen_otherwise_changed_its_final_state()
    {
        var h = Clean();
        h = h with { Client = [.. h.Client, Op(25, ClientOpKind.Check, J1, "lost", node: "n1")] };
        AssertOnly(h, "changed-final-state", J1);
    }

    [Fact]
    public void Two_runs_of_a_job_at_overlapping_times_are_caught_even_when_one_has_no_end_line()
    {
        var h = Clean();
        // J2's retry starts on n1 at 1.5 s, while its first run on n2 lives until n2's daemon is killed at 2 s.
        h = h with { Containers = [.. h.Containers.Select(e => e.Job == J2 && e.Node == "n1" && e.Kind == "start" ? e with { Wall = At(1.5) } : e)] };
        AssertOnly(h, "overlapping-runs", J2);
        // And with no kill and no restart, a run without an end line may still run: it overlaps everything after it.
        var unbounded = Clean() with { Nemesis = [], Containers = [.. Clean().Containers.Where(e => !(e.Node == "n2" && e.Wall > At(5)))] };
        AssertOnly(unbounded, "overlapping-runs", J2);
    }

    /// <summary>
    /// <see cref="Clean"/> with n2's daemon paused from 1 to 12 s instead of killed: the guard's <paramref name="guardLine"/>
    /// for J2 at 7 s (its deadline), then the end line the woken daemon appends at 12 s.
    /// </summary>
    private static ChaosHistory PausedN2(string guardLine, int? exit) => Clean() with
    {
        Nemesis = [new NemesisOp(At(1), "pause", "n2", "start"), new NemesisOp(At(12), "pause", "n2", "heal")],
        Containers =
        [
            .. Clean().Containers.Where(e => !(e.Node == "n2" && e.Wall > At(5))),
            Line(guardLine, "n2", 7, 199, J2), Line("end", "n2", 12, 601, J2, exit: exit),
        ],
    };

    [Fact]
    public void A_run_the_guard_killed_ended_then_not_at_the_end_line_its_stopped_daemon_appended_later()
    {
        // n2's daemon is paused (SIGSTOP) from 1 to 12 s, not killed: its guard kills J2's container at 7 s, the retry
        // starts on n1 at 10 s, and the woken daemon appends the end line at 12 s.
        var paused = PausedN2("guard-kill", exit: null);
        var run = ChaosChecker.Runs(paused).Single(r => r.Node == "n2");
        Assert.Equal(At(7), run.End);
        Assert.Empty(ChaosChecker.Check(paused));
        // Without the guard's line, the run lasted until its end line, past the retry's start.
        AssertOnly(paused with { Containers = [.. paused.Containers.Where(e => e.Kind != "guard-kill")] }, "overlapping-runs", J2);
        // A guard-kill line bounds a run with no end line as well.
        var unended = paused with { Containers = [.. paused.Containers.Where(e => e.Kind != "end" || e.Node != "n2")] };
        Assert.Equal(At(7), ChaosChecker.Runs(unended).Single(r => r.Node == "n2").End);
    }

    [Fact]
    public void A_run_that_ended_while_its_daemon_was_stopped_ended_when_the_guard_found_it_over()
    {
        // n2's daemon is paused from 1 to 12 s while J2's short command ends by itself: the guard, at the daemon's
        // deadline (7 s), finds no process left in its cgroup, the retry starts on n1 at 10 s, and the woken daemon
        // reaps the container and appends its end line (exit 0) at 12 s.
        var paused = PausedN2("guard-over", exit: 0);
        Assert.Equal(At(7), ChaosChecker.Runs(paused).Single(r => r.Node == "n2").End);
        Assert.Empty(ChaosChecker.Check(paused));
        // Without the guard's line the end line is all there is, and the run seems to last past the retry's start.
        AssertOnly(paused with { Containers = [.. paused.Containers.Where(e => e.Kind != "guard-over")] }, "overlapping-runs", J2);
    }

    [Fact]
    public void A_job_recorded_succeeded_with_no_exit_0_run_is_caught()
    {
        var h = Clean();
        h = h with { Containers = [.. h.Containers.Select(e => e.Job == J1 && e.Kind == "end" ? e with { ExitCode = 1 } : e)] };
        AssertOnly(h, "succeeded-without-exit-0", J1);
        // Nor does an exit 0 on another node than the one the record names count.
        var elsewhere = Clean() with { Containers = [.. Clean().Containers.Select(e => e.Job == J1 ? e with { Node = "n3" } : e)] };
        AssertOnly(elsewhere, "succeeded-without-exit-0", J1);
    }

    [Fact]
    public void A_run_that_starts_or_goes_on_after_a_client_saw_the_job_finished_is_caught()
    {
        var h = Clean();
        var late = h with { Containers = [.. h.Containers, Line("start", "n2", 7, 602, J1, attempt: 2), Line("end", "n2", 8, 602, J1, attempt: 2, exit: 0)] };
        AssertOnly(late, "ran-after-finish", J1);
        var longer = h with { Containers = [.. h.Containers.Select(e => e.Job == J1 && e.Kind == "end" ? e with { Wall = At(6) } : e)] };
        AssertOnly(longer, "ran-after-finish", J1);
    }

    [Fact]
    public void A_job_declared_lost_may_run_on_a_cut_off_node_for_the_grace_but_no_longer()
    {
        var lost = new ChaosHistory(
            [Op(0, ClientOpKind.Ack, J1), Op(10, ClientOpKind.Check, J1, "lost", node: "n1"), Op(30, ClientOpKind.Final, J1, "lost", node: "n1")],
            [],
            [Line("start", "n1", 1, 7, J1), Line("end", "n1", 14, 7, J1, exit: null)]) { LostJobGrace = TimeSpan.FromSeconds(5) };
        Assert.Empty(ChaosChecker.Check(lost));
        AssertOnly(lost with { LostJobGrace = TimeSpan.FromSeconds(3) }, "ran-after-finish", J1);
    }

    private static void AssertOnly(ChaosHistory history, string property, string job)
    {
        var violations = ChaosChecker.Check(history);
        Assert.True(violations.Count > 0, $"no violation found; expected {property} for {job}");
        Assert.All(violations, v => Assert.True(v.Property == property && v.Job == job, $"expected only {property} for {job}, got: {string.Join("; ", violations)}"));
    }
}
