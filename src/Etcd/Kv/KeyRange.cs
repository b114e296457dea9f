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

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix) => PrefixEnd(Key(prefix)).ToStringUtf8();

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
