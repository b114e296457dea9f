using Lcluster.Etcd;
using Xunit;

namespace Lcluster.Unit.Tests;

/// <summary>
/// Which endpoint spellings the etcd client takes. (Connecting over each is exercised for real elsewhere: every
/// daemon the tests start reaches its embedded etcd over unix://, and Etcd.Tests use http:// and https://.)
/// </summary>
public sealed class EtcdEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:2379", "http://127.0.0.1:2379")]
    [InlineData("https://etcd-1:2379/", "https://etcd-1:2379")]
    [InlineData("unix:///var/lib/lclusterd/etcd.sock:0", "unix:///var/lib/lclusterd/etcd.sock:0")]
    public async Task An_endpoint_is_taken_as_etcds_own_client_spells_it(string given, string used)
    {
        await using var client = EtcdClient.Connect([given]);
        Assert.Equal([used], client.Endpoints);
    }

    [Theory]
    [InlineData("unix://etcd.sock:0")]
    [InlineData("unix://")]
    [InlineData("ftp://etcd:2379")]
    [InlineData("http://etcd:2379/v3")]
    public void A_malformed_endpoint_is_refused_naming_the_forms_taken(string given)
    {
        var refused = Assert.Throws<ArgumentException>(() => EtcdClient.Connect([given]));
        Assert.Contains($"'{given}' is not an etcd endpoint", refused.Message);
        Assert.Contains("unix:///", refused.Message);
    }

    [Fact]
    public async Task A_socket_path_longer_than_a_sockaddr_un_holds_is_refused()
    {
        var path = "/" + new string('d', EtcdClient.MaxUnixSocketPathBytes);
        Assert.Throws<ArgumentException>(() => EtcdClient.Connect(["unix://" + path]));
        await using var fits = EtcdClient.Connect(["unix://" + path[..EtcdClient.MaxUnixSocketPathBytes]]);
        Assert.Equal(["unix://" + path[..EtcdClient.MaxUnixSocketPathBytes]], fits.Endpoints);
    }
}
