using System.Formats.Tar;
using Lcluster.Shared;

namespace Lcluster.Daemon.Node;

/// <summary>What an input archive holds: bytes of file contents, and files.</summary>
internal sealed record InputContents(long Bytes, int Files);

/// <summary>
/// The rules an input archive follows (docs/files.md), checked when it is uploaded and again entry by
/// entry when it is placed: a tar archive of directories and regular files only, each under a name
/// relative to /work that climbs nowhere, none twice, no file where a directory is needed, at most
/// <see cref="FilePaths.MaxEntries"/> entries. Failures are InvalidDataException with a person's message.
/// </summary>
internal static class InputArchive
{
    /// <summary>Reads every header of the archive (skipping the contents) and checks it.</summary>
    public static async Task<InputContents> CheckAsync(Stream archive, CancellationToken ct)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        var entries = 0;
        await using var reader = new TarReader(archive, leaveOpen: true);
        while (await NextAsync(reader, ct) is { } entry)
        {
            if (++entries > FilePaths.MaxEntries)
                throw new InvalidDataException($"the inputs hold more than {FilePaths.MaxEntries} entries; send fewer files (an archive of them, say)");
            var name = Name(entry);
            // Every directory above an entry, file or directory, is one: none of them may be a file.
            for (var slash = name.IndexOf('/'); slash > 0; slash = name.IndexOf('/', slash + 1))
            {
                var parent = name[..slash];
                if (files.Contains(parent))
                    throw new InvalidDataException($"input '{Shown(name)}' is below '{Shown(parent)}', which is a file");
                directories.Add(parent);
            }
            if (IsDirectory(entry))
            {
                if (files.Contains(name))
                    throw new InvalidDataException($"input '{Shown(name)}' is both a file and a directory");
                directories.Add(name);
                continue;
            }
            if (name.Length == 0)
                throw new InvalidDataException($"input '{Shown(entry.Name)}' names /work itself, which is a directory");
            if (directories.Contains(name) || !files.Add(name))
                throw new InvalidDataException($"input '{Shown(name)}' is given twice, or as both a file and a directory");
            bytes += entry.Length;
        }
        return new InputContents(bytes, files.Count);
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
        var shown = PrintableText.Shorten(entry.Name, 200);
        if (entry.EntryType is TarEntryType.SymbolicLink)
            throw new InvalidDataException($"input '{shown}' is a symbolic link (to '{PrintableText.Shorten(entry.LinkName, 200)}'): inputs carry directories and regular files only");
        if (!IsDirectory(entry) && !IsFile(entry))
            throw new InvalidDataException($"input '{shown}' is a {Kind(entry.EntryType)}: inputs carry directories and regular files only");
        return FilePaths.Normalize(entry.Name, out var why) ?? throw new InvalidDataException($"input '{shown}' {why}");
    }

    public static bool IsDirectory(TarEntry entry) => entry.EntryType is TarEntryType.Directory;

    public static bool IsFile(TarEntry entry) =>
        entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    /// <summary>Permission bits only: setuid, setgid and sticky bits do not travel.</summary>
    public static UnixFileMode Permissions(TarEntry entry) => entry.Mode & (UnixFileMode)0x1FF;

    private static string Shown(string name) => PrintableText.Shorten(name, 200);

    private static string Kind(TarEntryType type) => type switch
    {
        TarEntryType.HardLink => "hard link",
        TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "device",
        TarEntryType.Fifo => "named pipe",
        _ => $"tar entry of type {type}",
    };
}
