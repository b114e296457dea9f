using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lcluster.Daemon.Api;

namespace Lcluster.Daemon.Web;

/// <summary>A dashboard token as read back: the caller it names, or why it is refused.</summary>
/// <summary>A token's caller and when it expires, or why it was refused.</summary>
internal sealed record TokenCheck(Caller? Caller, string? Problem, DateTimeOffset Expires = default);

/// <summary>
/// The dashboard's sign-in (docs/http.md): a token names a user, whether they are an admin, and when it expires,
/// signed with HMAC-SHA256 under a key this node draws when first asked and keeps in memory only. So a token is good on
/// the node that issued it, until it expires or the node restarts; nothing secret is ever written to disk.
/// </summary>
internal sealed class DashboardTokens
{
    private const string Version = "v1";
    // Drawn at first use, not at start: a node whose dashboard is never used never loads OpenSSL for it (3.4 MB of RSS).
    private readonly Lazy<byte[]> _key = new(() => RandomNumberGenerator.GetBytes(32));

    /// <summary>"v1.PAYLOAD.MAC", both base64url; PAYLOAD is "EXPIRY-UNIX-SECONDS\nADMIN(0|1)\nUSER".</summary>
    public string Issue(Caller caller, DateTimeOffset expires)
    {
        var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{expires.ToUnixTimeSeconds()}\n{(caller.IsAdmin ? 1 : 0)}\n{caller.User}"));
        return $"{Version}.{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(Mac(payload))}";
    }

    public TokenCheck Check(string token, DateTimeOffset now)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Version || !TryDecode(parts[1], out var payload) || !TryDecode(parts[2], out var mac)
            || !CryptographicOperations.FixedTimeEquals(mac, Mac(payload)))
            return new TokenCheck(null, "the dashboard token is not one this node issued, or the node restarted since: run `lclusterc --dashboard` for a new one");
        var fields = Encoding.UTF8.GetString(payload).Split('\n', 3);
        if (fields.Length != 3 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
            return new TokenCheck(null, "the dashboard token is malformed: run `lclusterc --dashboard` for a new one");
        var expires = DateTimeOffset.FromUnixTimeSeconds(expiry);
        if (now >= expires)
            return new TokenCheck(null, $"the dashboard token expired at {expires:yyyy-MM-dd HH:mm:ss}Z: run `lclusterc --dashboard` for a new one");
        return new TokenCheck(new Caller(fields[2], IsAdmin: fields[1] == "1"), null, expires);
    }

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
