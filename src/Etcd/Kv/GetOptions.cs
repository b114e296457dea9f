using Google.Protobuf;
using Lcluster.Etcd.Api;

namespace Lcluster.Etcd.Kv;

/// <summary>What a Get reads besides one key's newest value.</summary>
public sealed record GetOptions
{
    /// <summary>Every key that starts with the given key.</summary>
    public bool Prefix { get; init; }

    /// <summary>
    /// Every key from the given key up to this one, exclusive (instead of <see cref="Prefix"/>). Bytes, not text: the
    /// end of a prefix (<see cref="EtcdClient.PrefixEnd"/>) need not be UTF-8.
    /// </summary>
    public ByteString? RangeEnd { get; init; }

    /// <summary>At most this many keys (0: no limit); RangeResponse.More says whether some were left out.</summary>
    public long Limit { get; init; }

    /// <summary>Read the store as it was at this revision (0: the newest).</summary>
    public long Revision { get; init; }

    public bool KeysOnly { get; init; }

    /// <summary>Only RangeResponse.Count, no keys.</summary>
    public bool CountOnly { get; init; }

    public RangeRequest.Types.SortTarget SortTarget { get; init; }

    public RangeRequest.Types.SortOrder SortOrder { get; init; }

    /// <summary>Only keys created at or before this revision (0: no bound).</summary>
    public long MaxCreateRevision { get; init; }

    /// <summary>Read from the answering member without consensus (faster, may be stale).</summary>
    public bool Serializable { get; init; }

    internal RangeRequest ToRequest(string key)
    {
        var request = new RangeRequest
        {
            Key = KeyRange.Key(key),
            Limit = Limit,
            Revision = Revision,
            KeysOnly = KeysOnly,
            CountOnly = CountOnly,
            SortTarget = SortTarget,
            SortOrder = SortOrder,
            MaxCreateRevision = MaxCreateRevision,
            Serializable = Serializable,
        };
        if (Prefix && RangeEnd is not null)
            throw new ArgumentException($"a Get of {key} gives either Prefix or RangeEnd, not both");
        if (Prefix)
            request.RangeEnd = KeyRange.PrefixEnd(request.Key);
        else if (RangeEnd is not null)
            request.RangeEnd = RangeEnd;
        return request;
    }
}
