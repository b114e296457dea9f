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

    /// <summary>Bytes of archives each owner's uploads hold here, kept and in progress (under <see cref="_records"/>).</summary>
    private readonly BytesByOwner _held = new();

    public InputStore(string dataDir)
    {
        Root = Path.Combine(dataDir, "inputs");
        Directory.CreateDirectory(Root);
        foreach (var id in Ids())
        {
            if (Read(id) is { } record)
                _held.Add(record.Owner, record.ArchiveBytes);
        }
    }

    public string Root { get; }

    /// <summary>Upload ids: 32 lower-case hex digits (a random 128-bit number).</summary>
    public static bool IsId(string id) => UploadId().IsMatch(id);

    public string ArchivePath(string id) => Path.Combine(Root, id + ".tar");

    public string PartialPath(string id) => Path.Combine(Root, id + ".partial");

    private string RecordPath(string id) => Path.Combine(Root, id + ".upload");

    /// <summary>
    /// A new upload, kept only if <see cref="InputUpload.KeepAsync"/> completes; <paramref name="quota"/> bounds what the
    /// owner's uploads hold here, this one included (null: none).
    /// </summary>
    public InputUpload Begin(string owner, long? quota) => new(this, Guid.NewGuid().ToString("N"), owner, quota);

    /// <summary>What the owner's uploads hold here, kept and in progress.</summary>
    public long Held(string owner)
    {
        lock (_records)
            return _held[owner];
    }

    /// <summary>
    /// Counts <paramref name="bytes"/> more for the owner if that keeps them within <paramref name="quota"/> (null:
    /// always); false, counting nothing, when it would not. What an upload counts is given back by
    /// <see cref="Release"/> when it is not kept, and by <see cref="Delete"/> with its archive.
    /// </summary>
    public bool TryHold(string owner, long bytes, long? quota)
    {
        lock (_records)
        {
            if (quota is { } most && _held[owner] + bytes > most)
                return false;
            _held.Add(owner, bytes);
            return true;
        }
    }

    public void Release(string owner, long bytes)
    {
        lock (_records)
            _held.Add(owner, -bytes);
    }

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
            var named = record.Jobs.ToHashSet(StringComparer.Ordinal);
            foreach (var job in jobs)
            {
                if (named.Add(job))
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

    /// <summary>
    /// Forgets jobs that no longer use an upload (<see cref="InputSweep"/>), unless an AddJob claimed it after
    /// <paramref name="seen"/> was read: the record names the jobs that still use it, not every job that ever did.
    /// </summary>
    public void ForgetUnlessClaimed(string id, UploadRecord seen, IReadOnlyCollection<string> ended)
    {
        lock (_records)
        {
            if (Read(id) is not { } now || now.ClaimedUnixMs != seen.ClaimedUnixMs)
                return;
            var gone = ended.ToHashSet(StringComparer.Ordinal);
            var left = now.Jobs.Where(j => !gone.Contains(j)).ToList();
            now.Jobs.Clear();
            now.Jobs.Add(left);
            Write(id, now);
        }
    }

    /// <summary>Deletes an upload: the archive first, so a half-deleted one is never served; its bytes are given back.</summary>
    public void Delete(string id)
    {
        lock (_records)
        {
            var record = Read(id);
            File.Delete(ArchivePath(id));
            File.Delete(RecordPath(id));
            if (record is not null)
                _held.Add(record.Owner, -record.ArchiveBytes);
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
