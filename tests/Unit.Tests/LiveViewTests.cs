using Lcluster.Daemon.Prime;
using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

public sealed class LiveViewTests
{
    private static NodeRecord Node(string name, long incarnation, int slots = 2) => new() { Name = name, Incarnation = incarnation, Slots = slots, MemoryBytes = 8L << 30 };

    private static QueueItem Item(string id, int priority, long sequence) =>
        new(id, new QueueEntry { Priority = priority, Limits = new V1.Limits { MemoryBytes = 1 << 20 } }, sequence);

    [Fact]
    public void Changes_applied_in_order_keep_the_queue_in_placement_order_and_the_slots_counted()
    {
        var view = new LiveView(new ClusterSnapshot([Node("a", 1)], [], [Item("low", 0, 5)], Revision: 10));

        view.Apply(new LiveChange.Queued(11, Item("high", 3, 6)));
        view.Apply(new LiveChange.Queued(12, Item("early", 0, 4)));
        view.Apply(new LiveChange.RunPut(13, new RunKey("a", "x", new Assignment { NodeIncarnation = 1, MemoryBytes = 1 << 20 }, 13, 13)));
        view.Apply(new LiveChange.Unqueued(14, "low"));

        Assert.Equal(["high", "early"], view.Queue.Select(j => j.Id));
        Assert.Equal(1, view.Room().Nodes.Single().SlotsUsed);
        Assert.Equal(14, view.Revision);
    }

    [Fact]
    public void Slots_held_by_an_earlier_incarnation_do_not_count_and_a_new_incarnation_counts_as_a_change_of_members()
    {
        var view = new LiveView(new ClusterSnapshot([Node("a", 1)], [new RunKey("a", "old", new Assignment { NodeIncarnation = 1 }, 5, 5)], [], Revision: 10));
        view.TakeMembersChanged();

        view.Apply(new LiveChange.MemberPut(11, Node("a", 2)));

        Assert.True(view.TakeMembersChanged());
        Assert.False(view.TakeMembersChanged());
        Assert.Equal(0, view.Room().Nodes.Single().SlotsUsed);
        Assert.Single(Orphans.Find(view.Runs, view.Members));
    }

    [Fact]
    public void Placements_count_as_unstarted_until_their_node_marks_them_started_or_its_incarnation_is_gone()
    {
        var view = new LiveView(new ClusterSnapshot([Node("a", 1, slots: 8), Node("b", 1, slots: 8)], [], [], Revision: 10));
        view.Apply(new LiveChange.RunPut(11, new RunKey("a", "x", new Assignment { NodeIncarnation = 1 }, 11, 11)));
        view.Apply(new LiveChange.RunPut(11, new RunKey("a", "y", new Assignment { NodeIncarnation = 1 }, 11, 11)));
        view.Apply(new LiveChange.RunPut(11, new RunKey("b", "z", new Assignment { NodeIncarnation = 1 }, 11, 11)));
        Assert.Equal(3, view.Room().Unstarted);

        view.Apply(new LiveChange.RunPut(12, new RunKey("a", "x", new Assignment { NodeIncarnation = 1, Started = true }, 12, 11)));
        Assert.Equal(2, view.Room().Unstarted);
        view.Apply(new LiveChange.RunGone(13, "a", "y")); // ended (or cancelled) before it was marked
        Assert.Equal(1, view.Room().Unstarted);
        view.Apply(new LiveChange.MemberPut(14, Node("b", 2, slots: 8))); // b restarted: its old run is the orphans' now
        Assert.Equal(0, view.Room().Unstarted);
        Assert.Equal(1, view.Room().Nodes.Single(n => n.Name == "a").SlotsUsed); // a started run still holds its slot
    }

    [Fact]
    public void The_prime_is_told_only_what_entered_or_left_the_queue_since_it_last_asked()
    {
        var view = new LiveView(new ClusterSnapshot([Node("a", 1)], [], [Item("first", 0, 5)], Revision: 10));
        Assert.Equal(["first"], view.TakeQueuedSinceLastTake().Select(j => j.Id));

        view.Apply(new LiveChange.Queued(11, Item("second", 0, 6)));
        view.Apply(new LiveChange.Queued(12, Item("brief", 0, 7)));
        view.Apply(new LiveChange.Unqueued(13, "brief"));
        view.Apply(new LiveChange.Unqueued(14, "first"));

        Assert.Equal(["second"], view.TakeQueuedSinceLastTake().Select(j => j.Id));
        Assert.Equal(["brief", "first"], view.TakeUnqueuedSinceLastTake().Order());
        Assert.Empty(view.TakeQueuedSinceLastTake());
        Assert.Empty(view.TakeUnqueuedSinceLastTake());

        view.Apply(new LiveChange.Queued(15, Item("second", 1, 6))); // queued again, with another priority
        Assert.Equal(["second"], view.TakeQueuedSinceLastTake().Select(j => j.Id));
        Assert.Equal(["second"], view.TakeUnqueuedSinceLastTake());
    }
}
