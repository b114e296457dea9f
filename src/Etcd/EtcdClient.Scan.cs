using System.Runtime.CompilerServices;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;

namespace Lcluster.Etcd;

/// <summary>One page of a <see cref="EtcdClient.ScanAsync"/>: its keys, and the revision every page was read at.</summary>
public sealed record ScanPage(IReadOnlyList<KeyValue> Kvs, long Revision);

public sealed partial class EtcdClient
{
    /// <summary>The default number of keys a scan reads per request: small enough for any message limit.</summary>
    public const int ScanPageSize = 500;

    /// <summary>
    /// Every key with the prefix, in key order, a page at a time, every page read at the same
    /// revision (the first page's, unless <paramref name="revision"/> names one): a consistent view
    /// however many keys there are and however long the caller takes between pages. A revision
    /// compacted meanwhile throws <see cref="EtcdCompactedException"/>.
    /// </summary>
    public async IAsyncEnumerable<ScanPage> ScanAsync(string prefix, int pageSize = ScanPageSize, long revision = 0,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var end = KeyRange.PrefixEnd(prefix);
        var from = prefix;
        while (true)
        {
            var page = await GetAsync(from, new GetOptions { RangeEnd = end, Limit = pageSize, Revision = revision }, cancellationToken);
            if (revision == 0)
                revision = page.Header.Revision; // later pages read the store as it was then (their header says today's revision)
            yield return new ScanPage(page.Kvs, revision);
            if (!page.More || page.Kvs.Count == 0)
                yield break;
            from = page.Kvs[^1].KeyText + "\0";
        }
    }
}
