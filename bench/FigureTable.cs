namespace Lcluster.Bench;

/// <summary>One measured figure against its anchor and target; Verdict says "met", "MISSED", "skipped" or why it failed.</summary>
internal sealed record Figure(string Name, string Ours, string Anchor, string Target, string Verdict);

/// <summary>The table `make bench` prints.</summary>
internal sealed class FigureTable
{
    private static readonly string[] Header = ["figure", "ours", "anchor", "target", "verdict"];
    private readonly List<Figure> _figures = [];

    public bool AnyFailed => _figures.Any(f => f.Ours == "failed");

    public void Add(Figure figure) => _figures.Add(figure);

    public void AddRange(IEnumerable<Figure> more) => _figures.AddRange(more);

    public void Print(TextWriter output)
    {
        var rows = _figures.Select(f => new[] { f.Name, f.Ours, f.Anchor, f.Target, f.Verdict }).Prepend(Header).ToArray();
        var widths = Enumerable.Range(0, Header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var (row, index) in rows.Select((r, i) => (r, i)))
        {
            output.WriteLine(string.Join(" | ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            if (index == 0)
                output.WriteLine(string.Join("-|-", widths.Select(w => new string('-', w))));
        }
    }

    public static string Milliseconds(double ms) => $"{ms:F1} ms";

    public static string Verdict(bool met) => met ? "met" : "MISSED";
}
