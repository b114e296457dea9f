using System.Formats.Tar;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>
/// --download (docs/files.md): the artifacts a finished job left, streamed from any node into --to
/// (./UUID by default), one chunk in memory at a time. Each name is checked again here, and nothing is
/// written through a symbolic link that is already in the destination. A file there with the same name is
/// replaced, not written into (a hard link to it elsewhere keeps its content); a file's mode is the job's
/// without set-id bits and without write for group and others, whatever the job chose. One line per file on stdout.
/// </summary>
internal static class ArtifactDownload
{
    public static async Task<int> RunAsync(Lclusterd.LclusterdClient client, string jobId, string? to, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var destination = Path.TrimEndingDirectorySeparator(Path.GetFullPath(to ?? jobId));
        using var call = client.GetArtifacts(new GetArtifactsRequest { Id = jobId }, cancellationToken: ct);
        await using var archive = new FileChunkReader(call.ResponseStream);
        await using var reader = new TarReader(archive);
        var files = 0;
        while (await NextAsync(reader, ct) is { } entry)
        {
            var name = FilePaths.Normalize(entry.Name, out var why)
                       ?? throw new IOException($"the node sent an artifact named '{PrintableText.Escape(entry.Name)}', which {why}; nothing was written for it");
            if (name.Length == 0)
                continue;
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.Directory))
                throw new IOException($"the node sent artifact '{PrintableText.Escape(name)}' as a {entry.EntryType}: only files and directories are written");
            var path = Prepare(destination, name);
            if (entry.EntryType is TarEntryType.Directory)
            {
                Directory.CreateDirectory(path);
                continue;
            }
            // CreateNew (O_EXCL): never follows a link made since Prepare looked, never truncates an inode shared with another name.
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                if (entry.DataStream is { } data)
                    await data.CopyToAsync(file, FilePaths.ChunkBytes, ct);
                File.SetUnixFileMode(file.SafeFileHandle, entry.Mode & KeptMode);
            }
            files++;
            stdout.WriteLine(PrintableText.Escape(Path.Combine(to ?? jobId, name)));
        }
        if (files == 0)
            stderr.WriteLine($"lclusterc: job {jobId} left no artifacts (--checkjob tells why, when something was left out)");
        return ExitCodes.Ok;
    }

    /// <summary>rwxr-xr-x at most: a job must not leave the user a file others may change (chmod ignores the umask).</summary>
    private const UnixFileMode KeptMode = (UnixFileMode)0x1ED;

    private static async Task<TarEntry?> NextAsync(TarReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, ct);
        }
        catch (Exception e) when (TarDamage.Is(e))
        {
            throw new IOException($"the artifacts did not arrive as a tar archive lclusterc can read: {e.Message}", e);
        }
    }

    /// <summary>The path to write <paramref name="name"/> at, its directories made, no link on the way, nothing in its place.</summary>
    private static string Prepare(string destination, string name)
    {
        var path = destination;
        Directory.CreateDirectory(destination);
        var parts = name.Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            path = Path.Combine(path, parts[i]);
            var existing = new FileInfo(path);
            if (existing.LinkTarget is not null)
            {
                if (i < parts.Length - 1)
                    throw new IOException($"{path} is a symbolic link: not writing {name} through it");
                File.Delete(path); // replaced, as tar does, never written through
            }
            else if (i == parts.Length - 1 && existing.Exists)
            {
                File.Delete(path); // a file: replaced, as tar does, not written into (a directory stays and refuses the file)
            }
            else if (i < parts.Length - 1)
            {
                Directory.CreateDirectory(path);
            }
        }
        return path;
    }
}
