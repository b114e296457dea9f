using System.Formats.Tar;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Node;

/// <summary>
/// Puts an input archive into a job's workspace as it streams in: every entry checked again
/// (<see cref="InputArchive"/>), directories made as needed, files written with their permission
/// bits, nothing created through a link. Failures are InvalidDataException or IOException naming the entry.
/// </summary>
internal static class InputPlacement
{
    private static readonly UnixFileMode DirectoryDefault = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public static async Task<InputContents> PlaceAsync(Stream archive, Workspace workspace, CancellationToken ct)
    {
        var tree = new InputTree();
        var parents = new List<string>();
        long bytes = 0;
        var files = 0;
        await using var reader = new TarReader(archive, leaveOpen: true);
        while (await InputArchive.NextAsync(reader, ct) is { } entry)
        {
            var name = InputArchive.Name(entry);
            if (name.Length == 0)
                continue; // "./": /work itself
            parents.Clear();
            tree.Add(name, InputArchive.IsDirectory(entry), parents);
            foreach (var parent in parents)
                workspace.CreateDirectory(parent, DirectoryDefault);
            if (InputArchive.IsDirectory(entry))
            {
                workspace.CreateDirectory(name, InputArchive.Permissions(entry));
                continue;
            }
            await using (var file = workspace.CreateFile(name, InputArchive.Permissions(entry)))
            {
                if (entry.DataStream is { } data)
                    await data.CopyToAsync(file, Shared.FilePaths.ChunkBytes, ct);
            }
            bytes += entry.Length;
            files++;
        }
        return new InputContents(bytes, files);
    }
}
