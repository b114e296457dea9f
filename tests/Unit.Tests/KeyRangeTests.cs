using Lcluster.Etcd;
using Lcluster.Etcd.Kv;

namespace Lcluster.Unit.Tests;

/// <summary>The range end of a prefix, as the client's callers hand it to a Get: bytes, whatever UTF-8 would make of them.</summary>
public sealed class KeyRangeTests
{
    [Theory]
    [InlineData("/lcluster/jobs/", "2f6c636c75737465722f6a6f627330")]
    [InlineData("a\u00e9", "61c3aa")]
    [InlineData("a\u007f", "6180")] // 0x80 alone is no UTF-8
    [InlineData("a\u07ff", "61dfc0")] // DF BF raised is DF C0: no UTF-8 either
    public void The_range_end_of_a_prefix_is_its_bytes_with_the_last_one_raised(string prefix, string end)
    {
        var request = new GetOptions { RangeEnd = EtcdClient.PrefixEnd(prefix) }.ToRequest(prefix);

        Assert.Equal(end, Convert.ToHexStringLower(request.RangeEnd.Span));
    }
}
