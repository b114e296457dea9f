using Lcluster.Daemon.Node;
using Lcluster.TestSupport.Chaos;

namespace Lcluster.Unit.Tests;

/// <summary>DATA_DIR/containers.log is rotated past its size, so a long-lived node cannot fill its disk with it.</summary>
public sealed class ContainerLogRotationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lcluster-containerlog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Past_its_size_the_log_becomes_containers_log_1_and_a_new_one_begins_with_no_line_lost_or_split()
    {
        const int Jobs = 40;
        using (var log = ContainerLog.Open(_dir, "n1", rotateAt: 4096))
        {
            for (var i = 0; i < Jobs; i++)
            {
                var id = $"{i:D8}-0000-4000-8000-000000000000";
                log.Started(id, 1, 0x7e9c, 1000 + i, DateTimeOffset.UtcNow, System.Diagnostics.Stopwatch.GetTimestamp());
                log.Ended(id, 1, 0x7e9c, 1000 + i, 0, 0);
            }
        }
        var current = new FileInfo(Path.Combine(_dir, ContainerLog.FileName));
        var previous = new FileInfo(Path.Combine(_dir, ContainerLog.PreviousFileName));
        Assert.True(previous.Exists, "no containers.log.1 after passing the rotation size");
        // Each file stays near the size (a rotation happens at the first line past it), and only one old log is kept.
        Assert.InRange(previous.Length, 4096, 4096 + 300);
        Assert.InRange(current.Length, 1, 4096 + 300);
        Assert.Equal([ContainerLog.FileName, ContainerLog.PreviousFileName], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(current.FullName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(previous.FullName));

        // What the two files hold is the most recent lines, whole and in order, none twice: 80 lines make ~14 KB, so the
        // earliest are gone with the rotation before last.
        var events = ContainerLogFile.ReadNode(_dir);
        var jobs = events.Select(e => int.Parse(e.Job![..8], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(jobs[0], Jobs - jobs[0]), jobs.Distinct());
        Assert.InRange(jobs[0], 1, Jobs - 20);
        Assert.All(events.GroupBy(e => e.Job), g => Assert.True(g.Count() <= 2, $"job {g.Key} has {g.Count()} lines"));
    }

    [Fact]
    public void A_rotation_that_stopped_after_its_rename_begins_the_new_file_without_losing_the_renamed_one()
    {
        using (var log = ContainerLog.Open(_dir, "n1", rotateAt: 4096))
        {
            log.DaemonStarted(System.Diagnostics.Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow);
            // As if a rotation had renamed the file and then failed to open the next one: lines still reach the renamed file.
            File.Move(Path.Combine(_dir, ContainerLog.FileName), Path.Combine(_dir, ContainerLog.PreviousFileName));
            for (var i = 0; i < 40; i++)
                log.LeftoverReaped($"{i:D8}-0000-4000-8000-000000000000");
            log.LeftoverReaped("ffffffff-0000-4000-8000-000000000000");
        }
        var previous = File.ReadAllLines(Path.Combine(_dir, ContainerLog.PreviousFileName));
        Assert.StartsWith("daemon-start ", previous[0], StringComparison.Ordinal);
        Assert.Contains(previous, l => l.Contains("job=00000000-", StringComparison.Ordinal));
        Assert.Contains("job=ffffffff-", File.ReadAllText(Path.Combine(_dir, ContainerLog.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_already_past_its_size_when_the_daemon_starts_is_rotated_at_its_first_line()
    {
        File.WriteAllText(Path.Combine(_dir, ContainerLog.FileName), new string('x', 5000) + "\n");
        using (var log = ContainerLog.Open(_dir, "n1", rotateAt: 4096))
            log.DaemonStarted(System.Diagnostics.Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow);
        var previous = File.ReadAllLines(Path.Combine(_dir, ContainerLog.PreviousFileName));
        Assert.Equal(2, previous.Length);
        Assert.Equal(new string('x', 5000), previous[0]);
        Assert.StartsWith("daemon-start node=n1 ", previous[1], StringComparison.Ordinal);
        Assert.Empty(File.ReadAllText(Path.Combine(_dir, ContainerLog.FileName)));
    }
}
