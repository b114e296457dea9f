using System.Formats.Tar;
using Lcluster.Runtime;
using Lcluster.Shared;

namespace Lcluster.Daemon.Node;

/// <summary>What was collected from a job's /work: files and bytes kept, and what was left out (null: nothing).</summary>
internal sealed record ArtifactSummary(int Files, long Bytes, string? Note);

/// <summary>
/// Collects a finished job's artifacts: the files its patterns match (<see cref="ArtifactWalk"/>), in name
/// order, into one tar archive (pax) beside its output, DATA_DIR/output/ID/artifacts.tar, with their
/// permission bits. Files that would take the archive past the node's --artifact-cap, or past the size of the job's
/// /work when it has one, are left out.
/// </summary>
internal static class ArtifactCollection
{
    /// <summary>Notes shown in a job's reason before "and N more".</summary>
    private const int MaxNotes = 5;

    public static async Task<ArtifactSummary> CollectAsync(Workspace workspace, IEnumerable<string> patterns, string archivePath, long capBytes, CancellationToken ct)
    {
        // A job's files cannot hold more than its /work does, when it has a size: a file of holes (which costs a tmpfs
        // nothing, and would be written out as zeros) is counted at its length, and left out past that.
        var room = workspace.CapacityBytes is { } capacity && capacity < capBytes ? capacity : (long?)null;
        var walk = new ArtifactWalk(workspace);
        walk.Run(patterns);
        var notes = new List<string>(walk.Notes);
        var files = 0;
        long bytes = 0;
        int overRoom = 0, overCap = 0;
        var partial = archivePath + ".partial";
        await using (var archive = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var file in walk.Found)
            {
                if (bytes + file.Size > room)
                {
                    overRoom++;
                    continue;
                }
                // The archive, headers included, stays within the cap: empty files with long names cost the disk too.
                if (archive.Position + TarBytes(file) > capBytes)
                {
                    overCap++;
                    continue;
                }
                FileStream content;
                try
                {
                    content = workspace.OpenFile(file.Path);
                }
                catch (IOException e)
                {
                    notes.Add($"{PrintableText.Shorten(file.Path, 120)} could not be read ({e.Message})");
                    continue;
                }
                await using (content)
                {
                    var entry = new PaxTarEntry(TarEntryType.RegularFile, file.Path)
                    {
                        Mode = file.Mode & (UnixFileMode)0x1FF,
                        DataStream = content,
                    };
                    await writer.WriteEntryAsync(entry, ct);
                    files++;
                    bytes += content.Length;
                }
            }
        }
        File.Move(partial, archivePath, overwrite: true);
        if (overCap > 0)
            notes.Insert(0, $"{overCap} file(s) left out over the artifact cap of {Units.FormatBytes(capBytes)}");
        if (overRoom > 0)
            notes.Insert(0, $"{overRoom} file(s) left out over the artifact cap of {Units.FormatBytes(room!.Value)} (what the job's /work holds)");
        return new ArtifactSummary(files, bytes, Describe(notes, notes.Count + walk.MoreNotes));
    }

    /// <summary>
    /// What a file adds to the archive at most: its pax header (the name, the times), its ustar header and its
    /// contents, in 512-byte blocks, and the two blocks that end the archive.
    /// </summary>
    private static long TarBytes(ArtifactFile file)
    {
        static long Blocks(long bytes) => (bytes + 511) / 512 * 512;
        return 512 + Blocks(System.Text.Encoding.UTF8.GetByteCount(file.Path) + 256) + 512 + Blocks(file.Size) + 1024;
    }

    private static string? Describe(List<string> notes, int count) => count switch
    {
        0 => null,
        <= MaxNotes => string.Join("; ", notes),
        _ => string.Join("; ", notes.Take(MaxNotes)) + $"; and {count - MaxNotes} more",
    };
}
