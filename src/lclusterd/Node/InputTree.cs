using Lcluster.Shared;

namespace Lcluster.Daemon.Node;

/// <summary>
/// The names an input archive has given so far, kept as a tree of path segments: an entry costs memory for the
/// segments it adds, never for its whole path again at every level (a name of 4095 bytes has up to 2,047 levels).
/// Every directory counts, the ones an entry only implies included, against <see cref="FilePaths.MaxEntries"/>:
/// each is made in the job's workspace. Conflicts are InvalidDataException with a person's message.
/// </summary>
internal sealed class InputTree
{
    private const int Root = 0;
    private readonly Dictionary<(int Parent, string Segment), int> _children = [];
    /// <summary>By id: whether the name is a file (id 0 is /work itself, a directory).</summary>
    private readonly List<bool> _isFile = [false];

    /// <summary>Files and directories named so far, directories only implied included.</summary>
    public int Count => _isFile.Count - 1;

    /// <summary>
    /// Adds a normalized name ("" is /work itself); <paramref name="newParents"/>, when given, receives the
    /// directories above it this entry is the first to imply, outermost first.
    /// </summary>
    public void Add(string name, bool isDirectory, List<string>? newParents = null)
    {
        if (name.Length == 0)
        {
            if (!isDirectory)
                throw new InvalidDataException("an input names /work itself, which is a directory");
            return;
        }
        var parent = Root;
        var start = 0;
        for (var slash = name.IndexOf('/'); slash > 0; slash = name.IndexOf('/', slash + 1))
        {
            var key = (parent, name[start..slash]);
            if (_children.TryGetValue(key, out var id))
            {
                if (_isFile[id])
                    throw new InvalidDataException($"input '{InputArchive.Shown(name)}' is below '{InputArchive.Shown(name[..slash])}', which is a file");
            }
            else
            {
                id = New(key, isFile: false);
                newParents?.Add(name[..slash]);
            }
            parent = id;
            start = slash + 1;
        }
        var last = (parent, name[start..]);
        if (_children.TryGetValue(last, out var existing))
        {
            // A directory may be given again (and after an entry below it); nothing else may.
            if (isDirectory && !_isFile[existing])
                return;
            throw new InvalidDataException(isDirectory
                ? $"input '{InputArchive.Shown(name)}' is both a file and a directory"
                : $"input '{InputArchive.Shown(name)}' is given twice, or as both a file and a directory");
        }
        New(last, isFile: !isDirectory);
    }

    private int New((int Parent, string Segment) key, bool isFile)
    {
        if (Count >= FilePaths.MaxEntries)
            throw new InvalidDataException($"the inputs hold more than {FilePaths.MaxEntries} files and directories; send fewer files (an archive of them, say)");
        var id = _isFile.Count;
        _isFile.Add(isFile);
        _children.Add(key, id);
        return id;
    }
}
