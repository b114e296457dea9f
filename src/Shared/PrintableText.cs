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
    /// <summary>
    /// \n, \r, \t as themselves; any other control or format character as \xNN, \uNNNN or \UNNNNNNNN. Judged by
    /// code point, not UTF-16 unit: the invisible tag characters (U+E0000 on) come as surrogate pairs.
    /// </summary>
    public static string Escape(string text)
    {
        if (!NeedsAny(text))
            return text;
        var shown = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var c = rune.Value;
            shown.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(rune) => c switch
                {
                    <= 0xff => "\\x" + c.ToString("x2", CultureInfo.InvariantCulture),
                    <= 0xffff => "\\u" + c.ToString("x4", CultureInfo.InvariantCulture),
                    _ => "\\U" + c.ToString("x8", CultureInfo.InvariantCulture),
                },
                _ => rune.ToString(),
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

    private static bool NeedsAny(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (NeedsEscape(rune))
                return true;
        }
        return false;
    }

    // Control characters (C0, DEL, C1), and the invisible ones that reorder or hide text (bidi overrides, zero-width).
    private static bool NeedsEscape(Rune rune) =>
        Rune.IsControl(rune) || Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format;
}
