using System.Text;

namespace Lcluster.Shared;

/// <summary>Help text rows made from flag definitions: each flag's spelling, what it does and its default.</summary>
internal static class FlagHelp
{
    private const int LineWidth = 100;
    private const string Indent = "  ";
    private const int Gap = 2;

    /// <summary>"  --memory=SIZE     memory this node offers to jobs (default: ...)", wrapped, in one aligned column.</summary>
    public static string Rows(IReadOnlyList<Flag> flags, Func<Flag, string>? describe = null, int? column = null)
    {
        describe ??= Describe;
        column ??= Column(flags);
        var text = new StringBuilder();
        foreach (var flag in flags)
        {
            var left = Indent + Left(flag).PadRight(column.Value);
            var lines = Wrap(describe(flag), LineWidth - left.Length);
            text.Append(left).Append(lines[0]).Append('\n');
            foreach (var line in lines.Skip(1))
                text.Append(' ', left.Length).Append(line).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Where descriptions start, so that rows of several sections line up.</summary>
    public static int Column(IEnumerable<Flag> flags) => flags.Max(f => Left(f).Length) + Gap;

    /// <summary>What the flag does, then its default when it has one to show.</summary>
    public static string Describe(Flag flag) =>
        flag.DefaultText is { } shown ? $"{flag.Description} (default: {shown})" : flag.Description;

    /// <summary>"--memory=SIZE", "--help, -h".</summary>
    public static string Left(Flag flag) => string.Join(", ", flag.Names.Skip(1).Prepend(flag.Spelling));

    private static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            line.Append(line.Length > 0 ? " " : "").Append(word);
        }
        lines.Add(line.ToString());
        return lines;
    }
}
