using System.Formats.Tar;
using Grpc.Core;
using Lcluster.Runtime.Native;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>
/// --input (docs/files.md): each PATH goes to the job's /work under its own name (a directory with all
/// below it). The trees are walked and checked before anything is sent — a symbolic link inside one is
/// refused, never followed — then streamed to the node as one tar archive (pax: any name, unicode,
/// permission bits), file by file, a chunk at a time.
/// </summary>
internal static class InputUpload
{
    private sealed record Item(string Source, string Name, bool IsDirectory, UnixFileMode Mode);

    private static readonly EnumerationOptions AllNames = new() { AttributesToSkip = 0, RecurseSubdirectories = false, IgnoreInaccessible = false };

    /// <summary>Uploads the inputs to the node <paramref name="client"/> talks to; returns the id AddJobRequest.inputs names.</summary>
    public static async Task<string> SendAsync(Lclusterd.LclusterdClient client, IReadOnlyList<string> inputs, CancellationToken ct)
    {
        var items = Walk(inputs);
        using var call = client.UploadInputs(cancellationToken: ct);
        var refused = false;
        async Task SendChunkAsync(FileChunk chunk, CancellationToken token)
        {
            try
            {
                await call.RequestStream.WriteAsync(chunk, token);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                refused = true; // the node ended the call (over its limit, a refused name): its answer says why
                throw;
            }
        }
        try
        {
            var chunks = new FileChunkWriter(SendChunkAsync);
            await using (var writer = new TarWriter(chunks, TarEntryFormat.Pax, leaveOpen: true))
            {
                foreach (var item in items)
                    await WriteAsync(writer, item, ct);
            }
            await chunks.FlushAsync(ct);
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception) when (refused)
        {
            await call.ResponseAsync; // throws the node's status
            throw;
        }
        return (await call.ResponseAsync).Id;
    }

    private static async Task WriteAsync(TarWriter writer, Item item, CancellationToken ct)
    {
        if (item.IsDirectory)
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, item.Name + "/") { Mode = item.Mode }, ct);
            return;
        }
        FileStream content;
        try
        {
            content = new FileStream(item.Source, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{ClientFlags.Input.Name}: cannot read {item.Source}: {e.Message}", e);
        }
        await using (content)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, item.Name)
            {
                Mode = item.Mode,
                ModificationTime = File.GetLastWriteTimeUtc(item.Source),
                DataStream = content,
            };
            await writer.WriteEntryAsync(entry, ct);
        }
    }

    /// <summary>Every directory and file the inputs hold, in the order they are sent; UsageException for what cannot go.</summary>
    private static List<Item> Walk(IReadOnlyList<string> inputs)
    {
        var items = new List<Item>();
        var tops = new HashSet<string>(StringComparer.Ordinal);
        foreach (var given in inputs)
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(given));
            var name = Path.GetFileName(full);
            if (name.Length == 0)
                throw new UsageException($"{ClientFlags.Input.Name}={given}: give a file or a directory below /, not the whole machine");
            if (!tops.Add(name))
                throw new UsageException($"{ClientFlags.Input.Name}: two inputs would both be {FilePaths.Work}/{name}; give each a different name");
            // The path given is followed if it is a link (the user named it); links below it are not.
            switch (KindOf(full, followLink: true))
            {
                case null:
                    throw new UsageException($"{ClientFlags.Input.Name}: {given} does not exist");
                case FileKind.Directory:
                    var directory = new DirectoryInfo(full);
                    items.Add(new Item(full, name, true, directory.UnixFileMode));
                    WalkDirectory(directory, name, full, items);
                    break;
                case FileKind.RegularFile:
                    items.Add(new Item(full, name, false, File.GetUnixFileMode(full)));
                    break;
                case var other:
                    throw new UsageException(NotAFile(full, other));
            }
            if (items.Count > FilePaths.MaxEntries)
                throw new UsageException($"{ClientFlags.Input.Name}: more than {FilePaths.MaxEntries} files and directories; send an archive of them instead");
        }
        return items;
    }

    private static void WalkDirectory(DirectoryInfo directory, string name, string top, List<Item> items)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos("*", AllNames).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var child = name + "/" + entry.Name;
            switch (KindOf(entry.FullName, followLink: false))
            {
                case null:
                    throw new UsageException($"{ClientFlags.Input.Name}: {entry.FullName} went away while the inputs were read");
                case FileKind.SymbolicLink:
                    throw new UsageException(Link(entry.FullName, entry.LinkTarget ?? "?", top));
                case FileKind.Directory:
                    items.Add(new Item(entry.FullName, child, true, entry.UnixFileMode));
                    WalkDirectory((DirectoryInfo)entry, child, top, items);
                    break;
                case FileKind.RegularFile:
                    items.Add(new Item(entry.FullName, child, false, entry.UnixFileMode));
                    break;
                case var other:
                    throw new UsageException(NotAFile(entry.FullName, other));
            }
            if (items.Count > FilePaths.MaxEntries)
                throw new UsageException($"{ClientFlags.Input.Name}: more than {FilePaths.MaxEntries} files and directories; send an archive of them instead");
        }
    }

    private static string? KindOf(string path, bool followLink)
    {
        try
        {
            return FileKind.Of(path, followLink);
        }
        catch (IOException e)
        {
            throw new UsageException($"{ClientFlags.Input.Name}: {e.Message}");
        }
    }

    /// <summary>A fifo would block the upload, a device could stream for ever, a socket has nothing to read.</summary>
    private static string NotAFile(string path, string kind) =>
        $"{ClientFlags.Input.Name}: {path} is a {kind}: inputs carry directories and regular files only";

    /// <summary>Why a link in an input tree is refused: one pointing out would leak or escape; none is followed.</summary>
    private static string Link(string path, string target, string top)
    {
        var resolved = Path.GetFullPath(target, Path.GetDirectoryName(path)!);
        var inside = resolved == top || resolved.StartsWith(top + "/", StringComparison.Ordinal);
        return inside
            ? $"{ClientFlags.Input.Name}: {path} is a symbolic link (to {target}): inputs carry directories and regular files only; put the file itself there"
            : $"{ClientFlags.Input.Name}: {path} is a symbolic link to {target}, which points out of {top}: inputs carry directories and regular files only, never what a link points to";
    }
}
