namespace Lcluster.Daemon.Node;

/// <summary>
/// One artifact path or glob, relative to /work, matched a name at a time: within a name * is any run of
/// characters (a leading dot too), ? one character, [abc], [a-z] and [!x] one of a set; a whole name **
/// is any number of directories. A pattern without these characters is a plain path.
/// </summary>
internal sealed class ArtifactPattern
{
    public ArtifactPattern(string normalized)
    {
        Text = normalized;
        // "**/**" is "**": the walk would otherwise try every way of sharing the depth between them.
        var names = new List<string>();
        foreach (var name in normalized.Length == 0 ? [] : normalized.Split('/'))
        {
            if (!(name == AnyDepth && names.Count > 0 && names[^1] == AnyDepth))
                names.Add(name);
        }
        Names = names;
    }

    /// <summary>As given, in its one spelling ("" is /work itself).</summary>
    public string Text { get; }

    public IReadOnlyList<string> Names { get; }

    public const string AnyDepth = "**";

    /// <summary>Does <paramref name="name"/> match one name of a pattern?</summary>
    public static bool Matches(string pattern, string name) => Matches(pattern.AsSpan(), name.AsSpan());

    /// <summary>Wildcard matching that backtracks only to the last '*': linear in practice, whatever the pattern.</summary>
    private static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, star = -1, starName = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starName = n;
                continue;
            }
            if (p < pattern.Length && Single(pattern[p..], name[n]) is var length and > 0)
            {
                p += length;
                n++;
                continue;
            }
            if (star < 0)
                return false;
            p = star + 1;
            n = ++starName;
        }
        while (p < pattern.Length && pattern[p] == '*')
            p++;
        return p == pattern.Length;
    }

    /// <summary>How much of the pattern one character <paramref name="c"/> matched (?, [set], or itself); 0 when it did not.</summary>
    private static int Single(ReadOnlySpan<char> pattern, char c)
    {
        if (pattern[0] == '?')
            return 1;
        if (pattern[0] == '[' && pattern.IndexOf(']') is var close and > 1)
            return InSet(pattern[1..close], c) ? close + 1 : 0;
        return pattern[0] == c ? 1 : 0;
    }

    /// <summary>[abc], [a-z], [!x]: the part between the brackets.</summary>
    private static bool InSet(ReadOnlySpan<char> set, char c)
    {
        var negated = set.Length > 1 && set[0] is '!' or '^';
        if (negated)
            set = set[1..];
        var found = false;
        for (var i = 0; i < set.Length; i++)
        {
            if (i + 2 < set.Length && set[i + 1] == '-')
            {
                found |= c >= set[i] && c <= set[i + 2];
                i += 2;
            }
            else
            {
                found |= c == set[i];
            }
        }
        return found != negated;
    }
}
