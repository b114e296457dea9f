using Lcluster.TestSupport;

namespace Lcluster.Etcd.Tests;

/// <summary>One real etcd shared by the tests that need nothing but a working etcd; each test uses its own key prefix.</summary>
public sealed class SharedEtcd : IAsyncLifetime
{
    private EtcdServer? _server;

    public EtcdServer Server => _server ?? throw new InvalidOperationException("the shared etcd has not started");

    public EtcdClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Progress notifications every second, so the test of them does not wait etcd's default 10 min.
        _server = await EtcdServer.StartNewAsync(new EtcdServerOptions { WatchProgressNotifyInterval = TimeSpan.FromSeconds(1) });
        Client = EtcdClient.Connect([_server.ClientUrl]);
    }

    public async Task DisposeAsync()
    {
        if (Client != null)
            await Client.DisposeAsync();
        if (_server != null)
            await _server.DisposeAsync();
    }

    /// <summary>A key prefix no other test uses.</summary>
    public static string UniquePrefix(string test) => $"/test/{test}/{Guid.NewGuid():N}/";
}

[CollectionDefinition(Name)]
public sealed class SharedEtcdCollection : ICollectionFixture<SharedEtcd>
{
    public const string Name = "shared etcd";
}
