using System.Text;

namespace Lcluster.Daemon.Store;

/// <summary>
/// ListJobs' page tokens (Google API guidelines: opaque to clients): the listing's filter, the
/// order key of the last job given, so the next page starts right after it and a token is
/// refused with any other filter, and the revision of the first page, which every page answers:
/// a watch from it sees every change after the listing began, whichever page a job was on.
/// </summary>
internal static class PageToken
{
    private const string Version = "2";

    public static string Encode(string filter, string lastOrder, long firstRevision) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Version}\n{filter}\n{lastOrder}\n{firstRevision.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The order key a token continues after, and its listing's first revision; null when the token is not one of ours for this filter.</summary>
    public static (string After, long FirstRevision)? Decode(string token, string filter)
    {
        try
        {
            var padded = token.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split('\n');
            return parts.Length == 4 && parts[0] == Version && parts[1] == filter && IsOrder(parts[2]) &&
                   long.TryParse(parts[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision) && revision > 0
                ? (parts[2], revision)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the text is an order key as a page ends on one: its 19 digits, "-" and a job id. Anyone can make a
    /// token, and anything else would send the listing to etcd (the view takes only keys) with whatever it holds in
    /// its range keys.
    /// </summary>
    private static bool IsOrder(string text) =>
        OrderKey.Parse(text) is { } key && key.ToString() == text &&
        Guid.TryParseExact(key.Id, "D", out var id) && id.ToString("D") == key.Id;
}
