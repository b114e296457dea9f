using System.Formats.Tar;
using Lcluster.Shared;

namespace Lcluster.Daemon.Node;

/// <summary>What an input archive holds: bytes of file contents, and files.</summary>
internal sealed record InputContents(long Bytes, int Files);

/// <summary>
/// The rules an input archive follows (docs/files.md), checked when it is uploaded and again entry by
/// entry when it is placed: a tar archive of directories and regular files only, each under a name
/// relative to /work that climbs nowhere, none twice, no file where a directory is needed, at most
/// <see cref="FilePaths.MaxEntries"/> entries and as many files and directories (<see cref="InputTree"/>). Failures are InvalidDataException with a person's message.
/// </summary>
internal static class InputArchive
{
    /// <summary>Reads every header of the archive (skipping the contents) and checks it.</summary>
    public static async Task<InputContents> CheckAsync(Stream archive, CancellationToken ct)
    {
        var tree = new InputTree();
        long bytes = 0;
        var files = 0;
        var entries = 0;
        await using var reader = new TarReader(archive, leaveOpen: true);
        while (await NextAsync(reader, ct) is { } entry)
        {
            if (++entries > FilePaths.MaxEntries)
                throw new InvalidDataException($"the inputs hold more than {FilePaths.MaxEntries} entries; send fewer files (an archive of them, say)");
            var isDirectory = IsDirectory(entry);
            tree.Add(Name(entry), isDirectory);
            if (!isDirectory)
            {
                bytes += entry.Length;
                files++;
            }
        }
        if (entries == 0)
            throw new InvalidDataException("the inputs hold nothing: send at least one file or directory"); // kept, it would cost the node files for nothing
        return new InputContents(bytes, files);
    }

    /// <summary>The next entry, or null at the end; a damaged archive is InvalidDataException.</summary>
    public static async Task<TarEntry?> NextAsync(TarReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, ct);
        }
        catch (Exception e) when (TarDamage.Is(e))
        {
            throw new InvalidDataException($"the inputs are not a tar archive lclusterd can read: {e.Message}", e);
        }
    }

    /// <summary>The entry's name in its one spelling ("" for /work itself), after checking its kind and name.</summary>
    public static string Name(TarEntry entry)
    {
        var shown = Shown(entry.Name);
        if (entry.EntryType is TarEntryType.SymbolicLink)
            throw new InvalidDataException($"input '{shown}' is a symbolic link (to '{Shown(entry.LinkName)}'): inputs carry directories and regular files only");
        if (!IsDirectory(entry) && !IsFile(entry))
            throw new InvalidDataException($"input '{shown}' is a {Kind(entry.EntryType)}: inputs carry directories and regular files only");
        return FilePaths.Normalize(entry.Name, out var why) ?? throw new InvalidDataException($"input '{shown}' {why}");
    }

    public static bool IsDirectory(TarEntry entry) => entry.EntryType is TarEntryType.Directory;

    public static bool IsFile(TarEntry entry) =>
        entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    /// <summary>Permission bits only: setuid, setgid and sticky bits do not travel.</summary>
    public static UnixFileMode Permissions(TarEntry entry) => entry.Mode & (UnixFileMode)0x1FF;

    /// <summary>A name as error messages show it.</summary>
    public static string Shown(string name) => PrintableText.Shorten(name, 200);

    private static string Kind(TarEntryType type) => type switch
    {
        TarEntryType.HardLink => "hard link",
        TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "device",
        TarEntryType.Fifo => "named pipe",
        _ => $"tar entry of type {type}",
    };
}
