using Lcluster.Runtime;

namespace Lcluster.Daemon.Node;

/// <summary>A regular file of /work that an artifact pattern matched.</summary>
internal sealed record ArtifactFile(string Path, long Size, UnixFileMode Mode);

/// <summary>
/// Finds what a job's artifact patterns match in its workspace, after it ended: regular files, and
/// everything below a matched directory. A symbolic link is never followed, whether a pattern goes
/// through it or names it; each such thing, and each pattern that matched nothing, becomes a note for
/// the job's reason. At most <see cref="MaxVisited"/> names are looked at (an empty directory counts as one),
/// however many a directory holds, and at most <see cref="MaxFoundChars"/> characters of names kept.
/// </summary>
internal sealed class ArtifactWalk(Workspace workspace)
{
    public const int MaxVisited = 100_000;

    /// <summary>
    /// The names of the files found, all together, in characters: each is kept until the archive is written, and
    /// 100,000 names of 4 KiB would be 800 MB of the daemon's memory.
    /// </summary>
    public const int MaxFoundChars = 16 << 20;

    private readonly SortedDictionary<string, ArtifactFile> _found = new(StringComparer.Ordinal);
    /// <summary>Notes kept word for word; past them only counted (<see cref="MoreNotes"/>): a job's reason shows a few.</summary>
    public const int MaxNotes = 100;

    private readonly List<string> _notes = [];
    private readonly HashSet<string> _noted = new(StringComparer.Ordinal);
    private int _visited;
    private long _foundChars;
    private int _hits;

    /// <summary>Every file matched, each once, in name order.</summary>
    public IReadOnlyCollection<ArtifactFile> Found => _found.Values;

    /// <summary>What was not collected, and why: the first <see cref="MaxNotes"/> notes.</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Notes past the first <see cref="MaxNotes"/>.</summary>
    public int MoreNotes { get; private set; }

    public void Run(IEnumerable<string> patterns)
    {
        foreach (var text in patterns)
        {
            var before = _hits;
            var pattern = new ArtifactPattern(text);
            Visit(pattern, "", 0);
            if (_hits == before)
                Note($"'{Shown(pattern.Text)}' matched nothing");
        }
    }

    private void Visit(ArtifactPattern pattern, string directory, int index)
    {
        if (index == pattern.Names.Count)
        {
            Tree(directory);
            return;
        }
        var name = pattern.Names[index];
        var last = index == pattern.Names.Count - 1;
        if (name == ArtifactPattern.AnyDepth)
        {
            Visit(pattern, directory, index + 1);
            foreach (var entry in List(directory).Where(e => e.Kind == WorkspaceEntryKind.Directory))
                Visit(pattern, Join(directory, entry.Name), index);
            return;
        }
        foreach (var entry in List(directory).Where(e => ArtifactPattern.Matches(name, e.Name)))
        {
            var path = Join(directory, entry.Name);
            if (last)
                Take(path, entry);
            else if (entry.Kind == WorkspaceEntryKind.Directory)
                Visit(pattern, path, index + 1);
            else if (entry.Kind == WorkspaceEntryKind.SymbolicLink)
            {
                _hits++;
                Note($"{Shown(path)} is a symbolic link, not followed ('{Shown(pattern.Text)}' goes through it)");
            }
        }
    }

    private void Take(string path, WorkspaceEntry entry)
    {
        _hits++;
        switch (entry.Kind)
        {
            case WorkspaceEntryKind.File when path.Contains('\n'):
                // pax carries it, but .NET's reader (lclusterc's --download) refuses such an archive whole.
                Note($"{Shown(path)} has a newline in its name, which artifacts cannot carry");
                break;
            case WorkspaceEntryKind.File when _found.ContainsKey(path):
                break;
            case WorkspaceEntryKind.File when _foundChars + path.Length > MaxFoundChars:
                Note($"the names of the files matched pass {MaxFoundChars >> 20} Mi characters; the rest were left out");
                break;
            case WorkspaceEntryKind.File:
                _found.Add(path, new ArtifactFile(path, entry.Size, entry.Mode));
                _foundChars += path.Length;
                break;
            case WorkspaceEntryKind.Directory:
                Tree(path);
                break;
            case WorkspaceEntryKind.SymbolicLink:
                Note($"{Shown(path)} is a symbolic link, not followed");
                break;
            case WorkspaceEntryKind.BadName:
                Note($"{Shown(path)} has a name that is not UTF-8");
                break;
            default:
                Note($"{Shown(path)} is not a regular file");
                break;
        }
    }

    /// <summary>Everything below a matched directory.</summary>
    private void Tree(string directory)
    {
        foreach (var entry in List(directory))
            Take(Join(directory, entry.Name), entry);
    }

    private IReadOnlyList<WorkspaceEntry> List(string directory)
    {
        if (_visited >= MaxVisited)
            return [];
        IReadOnlyList<WorkspaceEntry> entries;
        try
        {
            entries = workspace.List(directory, limit: MaxVisited - _visited);
        }
        catch (IOException e)
        {
            Note($"{(directory.Length == 0 ? "/work" : Shown(directory))} could not be read ({e.Message})");
            return [];
        }
        _visited += Math.Max(1, entries.Count); // an empty directory costs its opening: a pattern may make the walk open it often
        if (_visited >= MaxVisited)
            Note($"looked at {MaxVisited} names and stopped: make the artifact patterns narrower");
        return entries;
    }

    private void Note(string note)
    {
        if (_notes.Count >= MaxNotes)
            MoreNotes++;
        else if (_noted.Add(note))
            _notes.Add(note);
    }

    private static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    private static string Shown(string path) => Shared.PrintableText.Shorten(path, 120);
}
