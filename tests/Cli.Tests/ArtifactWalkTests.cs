extern alias daemon;
using daemon::Lcluster.Daemon.Node;
using Lcluster.Runtime;

namespace Lcluster.Cli.Tests;

/// <summary>What a job's artifact patterns cost the node that collects them, whatever the job left in /work.</summary>
public sealed class ArtifactWalkTests
{
    [Fact]
    public void A_directory_of_more_links_than_the_walk_looks_at_costs_it_its_cap_of_names_and_keeps_a_bounded_list_of_notes()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lcluster-walk-" + Guid.NewGuid().ToString("N")[..8]);
        using var workspace = Workspace.OnDisk(directory);
        for (var i = 0; i < ArtifactWalk.MaxVisited + 50_000; i++)
            File.CreateSymbolicLink(Path.Combine(directory, $"l{i}"), "/etc/shadow");

        var walk = new ArtifactWalk(workspace);
        walk.Run(["*"]);

        Assert.Empty(walk.Found);
        Assert.Equal($"looked at {ArtifactWalk.MaxVisited} names and stopped: make the artifact patterns narrower", walk.Notes[0]);
        Assert.Equal(ArtifactWalk.MaxNotes, walk.Notes.Count);
        Assert.Equal(1 + ArtifactWalk.MaxVisited, walk.Notes.Count + walk.MoreNotes); // one note a link looked at, and the cap's
    }
}
