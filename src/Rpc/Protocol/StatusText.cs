using System.Text;

namespace Lcluster.Rpc;

/// <summary>
/// <c>grpc-message</c> is UTF-8, percent-encoded outside printable ASCII (and '%' itself),
/// because HTTP/2 header values must be ASCII.
/// </summary>
internal static class StatusText
{
    public static string Encode(string text)
    {
        if (!NeedsEncoding(text))
            return text;
        var bytes = Encoding.UTF8.GetBytes(text);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2"));
        }
        return builder.ToString();
    }

    /// <summary>Decodes %XX sequences; a malformed sequence is kept as it is, never an error.</summary>
    public static string Decode(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return "";
        if (!value.Contains('%'))
            return value;
        var builder = new StringBuilder(value.Length);
        var pending = new List<byte>();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                pending.Add(Convert.ToByte(value.Substring(i + 1, 2), 16));
                i += 2;
                continue;
            }
            Flush(builder, pending);
            builder.Append(value[i]);
        }
        Flush(builder, pending);
        return builder.ToString();
    }

    private static void Flush(StringBuilder builder, List<byte> pending)
    {
        if (pending.Count == 0)
            return;
        builder.Append(Encoding.UTF8.GetString(pending.ToArray()));
        pending.Clear();
    }

    private static bool NeedsEncoding(string text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~' or '%')
                return true;
        }
        return false;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
