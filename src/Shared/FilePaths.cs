using System.Text;

namespace Lcluster.Shared;

/// <summary>
/// The names files travel under, in and out of jobs (docs/files.md): relative to the job's /work,
/// '/'-separated, no "..", no NUL, no name over 255 bytes. Both programs check them: lclusterc before
/// sending, the node on what it receives, places and collects.
/// </summary>
internal static class FilePaths
{
    /// <summary>The job's working directory, where inputs land and artifacts are collected from.</summary>
    public const string Work = "/work";

    public const int MaxPathBytes = 4095;
    public const int MaxNameBytes = 255;

    /// <summary>Most artifact paths or patterns a job may give, and their length.</summary>
    public const int MaxPatterns = 64;
    public const int MaxPatternBytes = 1024;

    /// <summary>Most entries (files and directories) an input archive may hold.</summary>
    public const int MaxEntries = 100_000;

    /// <summary>The size of each FileChunk sent.</summary>
    public const int ChunkBytes = 128 * 1024;

    /// <summary>
    /// The path in its one spelling ("a/b": no "./", no doubled or trailing '/'; "" is /work itself),
    /// or null with the reason it is refused, for a person.
    /// </summary>
    public static string? Normalize(string path, out string why)
    {
        why = "";
        if (path.Length == 0)
        {
            why = "is empty";
            return null;
        }
        if (path.Contains('\0'))
        {
            why = "contains a NUL byte";
            return null;
        }
        if (path.StartsWith('/'))
        {
            why = path.StartsWith(Work + "/", StringComparison.Ordinal)
                ? $"is absolute: paths are relative to {Work} (write {path[(Work.Length + 1)..]})"
                : $"is absolute: paths are relative to {Work}, and nothing outside it can be reached";
            return null;
        }
        var kept = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".")
                continue;
            if (segment == "..")
            {
                why = $"climbs with '..': nothing outside {Work} can be reached";
                return null;
            }
            if (Encoding.UTF8.GetByteCount(segment) > MaxNameBytes)
            {
                why = $"has a name longer than {MaxNameBytes} bytes";
                return null;
            }
            kept.Add(segment);
        }
        var normal = string.Join('/', kept);
        if (Encoding.UTF8.GetByteCount(normal) > MaxPathBytes)
        {
            why = $"is longer than {MaxPathBytes} bytes";
            return null;
        }
        return normal;
    }

    /// <summary>Artifact paths or patterns, each in its one spelling; the first refused one throws what <paramref name="refuse"/> makes of the reason.</summary>
    public static IReadOnlyList<string> CheckPatterns(IReadOnlyList<string> patterns, Func<string, Exception> refuse)
    {
        if (patterns.Count > MaxPatterns)
            throw refuse($"{patterns.Count} artifact paths, over the limit of {MaxPatterns}");
        var normal = new List<string>(patterns.Count);
        foreach (var pattern in patterns)
        {
            if (Encoding.UTF8.GetByteCount(pattern) > MaxPatternBytes)
                throw refuse($"artifact '{PrintableText.Shorten(pattern)}' is longer than {MaxPatternBytes} bytes");
            normal.Add(Normalize(pattern, out var why) ?? throw refuse($"artifact '{PrintableText.Escape(pattern)}' {why}"));
        }
        return normal;
    }
}
