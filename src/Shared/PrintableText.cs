using System.Globalization;
using System.Text;

namespace Lcluster.Shared;

/// <summary>
/// Text a user gave (commands, names, reasons) as it may be shown to a person: on one line,
/// with every control character escaped, so no job can move a terminal's cursor or forge a
/// log line. Compiled into both programs: lclusterc's human output, lclusterd's log.
/// </summary>
internal static class PrintableText
{
    /// <summary>\n, \r, \t as themselves; any other control or format character as \xNN or \uNNNN.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape))
            return text;
        var shown = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            shown.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(c) => c <= 0xff ? "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture) : "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        return shown.ToString();
    }

    /// <summary>Escaped, and cut to <paramref name="max"/> characters with "…".</summary>
    public static string Shorten(string text, int max = 60)
    {
        var shown = Escape(text);
        return shown.Length <= max ? shown : shown[..(max - 1)] + "…";
    }

    // Control characters (C0, DEL, C1), and the invisible ones that reorder or hide text (bidi overrides, zero-width).
    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
