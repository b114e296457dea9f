namespace Lcluster.Daemon.Store;

/// <summary>
/// Bytes counted per owner, for a quota: an owner whose bytes come to nothing is dropped, so the count holds only
/// owners who hold something. Not thread-safe: its users count under their own lock.
/// </summary>
internal sealed class BytesByOwner
{
    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);

    /// <summary>What the owner holds (0 for an owner never counted).</summary>
    public long this[string owner] => _bytes.GetValueOrDefault(owner);

    /// <summary>Adds <paramref name="bytes"/> (negative: gives them back) to what the owner holds.</summary>
    public void Add(string owner, long bytes)
    {
        var total = this[owner] + bytes;
        if (total > 0)
            _bytes[owner] = total;
        else
            _bytes.Remove(owner);
    }

    public void Clear() => _bytes.Clear();
}
