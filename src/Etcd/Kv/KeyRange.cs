using Google.Protobuf;

namespace Lcluster.Etcd.Kv;

/// <summary>etcd's key encoding: UTF-8 keys, and a prefix as the range [prefix, prefix+1).</summary>
internal static class KeyRange
{
    public static ByteString Key(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return ByteString.CopyFromUtf8(key);
    }

    /// <summary>
    /// The first key after every key that starts with <paramref name="prefix"/>, as bytes: raising the last byte can
    /// make what is no UTF-8 (0x7F becomes 0x80), which as a string would turn into U+FFFD and widen the range.
    /// </summary>
    public static ByteString PrefixEnd(string prefix) => PrefixEnd(Key(prefix));

    /// <summary>The range_end that makes [key, end) every key starting with key ("\0" when no such end exists).</summary>
    public static ByteString PrefixEnd(ByteString key)
    {
        var end = key.ToByteArray();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }
}
