using System.Text.RegularExpressions;
using Google.Protobuf;
using Lcluster.Daemon.Store;

namespace Lcluster.Daemon.Node;

/// <summary>
/// The inputs this node took (docs/files.md): DATA_DIR/inputs/ID.tar, an archive as uploaded, and
/// ID.upload, its <see cref="UploadRecord"/>. An upload is written to ID.partial and renamed only once
/// whole and checked, so no half-stored archive is ever named; a partial one is deleted when its call
/// ends, and one a crash left at the next start.
/// </summary>
internal sealed partial class InputStore
{
    private readonly Lock _records = new();

    public InputStore(string dataDir)
    {
        Root = Path.Combine(dataDir, "inputs");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Upload ids: 32 lower-case hex digits (a random 128-bit number).</summary>
    public static bool IsId(string id) => UploadId().IsMatch(id);

    public string ArchivePath(string id) => Path.Combine(Root, id + ".tar");

    public string PartialPath(string id) => Path.Combine(Root, id + ".partial");

    private string RecordPath(string id) => Path.Combine(Root, id + ".upload");

    /// <summary>A new upload, kept only if <see cref="InputUpload.CommitAsync"/> completes.</summary>
    public InputUpload Begin(string owner) => new(this, Guid.NewGuid().ToString("N"), owner);

    /// <summary>Names a checked archive: its record first, then the archive under its final name.</summary>
    public void Keep(string id, UploadRecord record)
    {
        Write(id, record);
        File.Move(PartialPath(id), ArchivePath(id));
    }

    public UploadRecord? Read(string id)
    {
        var path = RecordPath(id);
        try
        {
            return File.Exists(ArchivePath(id)) ? UploadRecord.Parser.ParseFrom(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>The archive, open for reading; null when it is not (or no longer) here.</summary>
    public FileStream? OpenArchive(string id)
    {
        try
        {
            return new FileStream(ArchivePath(id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Records that these jobs use the upload (before they are in etcd); false when it is gone.</summary>
    public bool Claim(string id, IEnumerable<string> jobs)
    {
        lock (_records)
        {
            if (Read(id) is not { } record)
                return false;
            foreach (var job in jobs)
            {
                if (!record.Jobs.Contains(job))
                    record.Jobs.Add(job);
            }
            // Strictly increasing, so a sweep that read the record before this claim sees it changed.
            record.ClaimedUnixMs = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), record.ClaimedUnixMs + 1);
            Write(id, record);
            return true;
        }
    }

    /// <summary>Deletes an upload unless an AddJob claimed it after <paramref name="seen"/> was read.</summary>
    public bool DeleteUnlessClaimed(string id, UploadRecord seen)
    {
        lock (_records)
        {
            if (Read(id) is { } now && now.ClaimedUnixMs != seen.ClaimedUnixMs)
                return false;
            Delete(id);
            return true;
        }
    }

    /// <summary>Deletes an upload: the archive first, so a half-deleted one is never served.</summary>
    public void Delete(string id)
    {
        lock (_records)
        {
            File.Delete(ArchivePath(id));
            File.Delete(RecordPath(id));
        }
    }

    /// <summary>The uploads kept here.</summary>
    public IReadOnlyList<string> Ids() =>
        Directory.EnumerateFiles(Root, "*.tar").Select(Path.GetFileNameWithoutExtension).OfType<string>().Where(IsId).ToList();

    /// <summary>At start: what a crash left half-written (partial uploads, records without archive); returns how many.</summary>
    public int ReapLeftovers()
    {
        var removed = 0;
        foreach (var path in Directory.EnumerateFiles(Root))
        {
            var id = Path.GetFileNameWithoutExtension(path);
            var orphan = path.EndsWith(".partial", StringComparison.Ordinal) || path.EndsWith(".tmp", StringComparison.Ordinal)
                         || (path.EndsWith(".upload", StringComparison.Ordinal) && !File.Exists(ArchivePath(id)));
            if (orphan)
            {
                File.Delete(path);
                removed++;
            }
        }
        return removed;
    }

    private void Write(string id, UploadRecord record)
    {
        var temp = RecordPath(id) + ".tmp";
        File.WriteAllBytes(temp, record.ToByteArray());
        File.Move(temp, RecordPath(id), overwrite: true);
    }

    [GeneratedRegex(@"^[0-9a-f]{32}\z")]
    private static partial Regex UploadId();
}
