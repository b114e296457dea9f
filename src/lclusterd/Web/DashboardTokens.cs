using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lcluster.Daemon.Api;

namespace Lcluster.Daemon.Web;

/// <summary>A dashboard token as read back: the caller it names and when it expires, or why it is refused.</summary>
internal sealed record TokenCheck(Caller? Caller, string? Problem, DateTimeOffset Expires = default, string Nonce = "");

/// <summary>What a token is for: a link's, given once for a session; a session's, the one that signs requests in.</summary>
internal enum TokenKind { Link, Session }

/// <summary>
/// The dashboard's sign-in (docs/http.md): a token names a user, whether they are an admin, when it expires and what
/// it is for, signed with HMAC-SHA256 under a key this node draws when first asked and keeps in memory only. So a
/// token is good on the node that issued it, until it expires or the node restarts; nothing secret is ever written to
/// disk. The link `lclusterc --dashboard` prints carries a link token, which signs nothing in: it is given once, for
/// a session token (<see cref="Redeem"/>). A link can be seen where a URL is (a browser's command line in /proc,
/// a terminal's scrollback); a session token stays in the tab.
/// </summary>
internal sealed class DashboardTokens
{
    private const string Version = "v1";
    // Drawn at first use, not at start: a node whose dashboard is never used never loads OpenSSL for it (3.4 MB of RSS).
    private readonly Lazy<byte[]> _key = new(() => RandomNumberGenerator.GetBytes(32));

    /// <summary>Link tokens given for a session already, until they expire: each is given once.</summary>
    private readonly Dictionary<string, DateTimeOffset> _redeemed = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>
    /// "v1.PAYLOAD.MAC", both base64url; PAYLOAD is "EXPIRY-UNIX-SECONDS\nADMIN(0|1)\nKIND NONCE\nUSER" (KIND "link" or
    /// "session", NONCE random).
    /// </summary>
    public string Issue(Caller caller, DateTimeOffset expires, TokenKind kind)
    {
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{expires.ToUnixTimeSeconds()}\n{(caller.IsAdmin ? 1 : 0)}\n{Name(kind)} {nonce}\n{caller.User}"));
        return $"{Version}.{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(Mac(payload))}";
    }

    /// <summary>
    /// A session token for a link token, once: the same caller, until the link's own expiry. A link given already, or
    /// any other token, is refused.
    /// </summary>
    public (string? Session, TokenCheck Check) Redeem(string link, DateTimeOffset now)
    {
        var check = Check(link, now, TokenKind.Link);
        if (check.Caller is not { } caller)
            return (null, check);
        lock (_lock)
        {
            foreach (var spent in _redeemed.Where(r => r.Value <= now).Select(r => r.Key).ToList())
                _redeemed.Remove(spent);
            if (!_redeemed.TryAdd(check.Nonce, check.Expires))
                return (null, check with { Caller = null, Problem = "this dashboard link was used already: run `lclusterc --dashboard` for a new one" });
        }
        return (Issue(caller, check.Expires, TokenKind.Session), check);
    }

    public TokenCheck Check(string token, DateTimeOffset now, TokenKind kind)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Version || !TryDecode(parts[1], out var payload) || !TryDecode(parts[2], out var mac)
            || !CryptographicOperations.FixedTimeEquals(mac, Mac(payload)))
            return new TokenCheck(null, "the dashboard token is not one this node issued, or the node restarted since: run `lclusterc --dashboard` for a new one");
        var fields = Encoding.UTF8.GetString(payload).Split('\n', 4);
        if (fields.Length != 4 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry)
            || fields[2].Split(' ') is not [var what, var nonce])
            return new TokenCheck(null, "the dashboard token is malformed: run `lclusterc --dashboard` for a new one");
        var expires = DateTimeOffset.FromUnixTimeSeconds(expiry);
        if (now >= expires)
            return new TokenCheck(null, $"the dashboard token expired at {expires:yyyy-MM-dd HH:mm:ss}Z: run `lclusterc --dashboard` for a new one");
        if (what != Name(kind))
            return new TokenCheck(null, kind == TokenKind.Session
                ? "a dashboard link's token signs nothing in by itself: open the link in a browser, or POST it to /v1/dashboard/session for a session's token"
                : "only the token of a dashboard link (`lclusterc --dashboard`) is given for a session");
        return new TokenCheck(new Caller(fields[3], IsAdmin: fields[1] == "1"), null, expires, nonce);
    }

    private static string Name(TokenKind kind) => kind == TokenKind.Link ? "link" : "session";

    private byte[] Mac(byte[] payload) => HMACSHA256.HashData(_key.Value, payload);

    /// <summary>base64url to bytes; false for anything else (TryDecodeFromChars throws on bad input, DecodeFromChars says so).</summary>
    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        if (Base64Url.DecodeFromChars(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done)
            return false;
        bytes = bytes[..written];
        return true;
    }
}
