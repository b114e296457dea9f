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

    [Fact]
    public async Task Long_names_of_empty_files_cost_the_node_a_bounded_list_and_an_archive_within_the_cap_headers_included()
    {
        // 5,000 empty files 3,834 characters deep: kept whole, their names were 38 MB of the daemon's memory, and
        // their tar headers a 25 MB archive under a cap of 1 MiB.
        var directory = Path.Combine(Path.GetTempPath(), "lcluster-walk-" + Guid.NewGuid().ToString("N")[..8]);
        using var workspace = Workspace.OnDisk(directory);
        var deep = Path.Combine([directory, .. Enumerable.Range(0, 14).Select(i => new string((char)('a' + i), 255))]);
        Directory.CreateDirectory(deep);
        for (var i = 0; i < 5_000; i++)
            File.Create(Path.Combine(deep, $"{i:D5}" + new string('f', 245))).Dispose();
        var archive = directory + ".tar";
        try
        {
            var walk = new ArtifactWalk(workspace);
            walk.Run(["**"]);
            var summary = await ArtifactCollection.CollectAsync(workspace, ["**"], archive, 1 << 20, CancellationToken.None);

            Assert.True(walk.Found.Sum(f => (long)f.Path.Length) <= ArtifactWalk.MaxFoundChars, $"{walk.Found.Count} names kept");
            Assert.InRange(walk.Found.Count, 4_000, 4_400);
            Assert.Contains($"the names of the files matched pass {ArtifactWalk.MaxFoundChars >> 20} Mi characters; the rest were left out", walk.Notes);
            Assert.True(new FileInfo(archive).Length <= 1 << 20, $"the archive is {new FileInfo(archive).Length} bytes");
            Assert.Contains("file(s) left out over the artifact cap of 1 MiB", summary.Note);
            Assert.InRange(summary.Files, 100, 300);
        }
        finally
        {
            File.Delete(archive);
        }
    }

    [Fact]
    public async Task A_pattern_of_many_stars_stars_in_a_row_walks_the_tree_once()
    {
        // "t/**/**/.../x" over 290 empty directories: every way of sharing the depth among 340 "**" was walked,
        // millions of directory openings.
        var directory = Path.Combine(Path.GetTempPath(), "lcluster-walk-" + Guid.NewGuid().ToString("N")[..8]);
        using var workspace = Workspace.OnDisk(directory);
        for (var i = 0; i < 290; i++)
            Directory.CreateDirectory(Path.Combine(directory, "t", $"d{i}"));
        var walk = new ArtifactWalk(workspace);

        await Task.Run(() => walk.Run(["t/" + string.Concat(Enumerable.Repeat("**/", 340)) + "x"])).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.EndsWith("matched nothing", Assert.Single(walk.Notes));
    }
}
