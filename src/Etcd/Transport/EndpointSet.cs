using Lcluster.Rpc;

namespace Lcluster.Etcd;

/// <summary>
/// The etcd members to talk to, one channel each, and which one is preferred now: calls stick
/// to the last endpoint that answered and move to the next when it stops answering.
/// </summary>
internal sealed class EndpointSet : IDisposable
{
    private readonly Endpoint[] _endpoints;
    private int _preferred;

    public EndpointSet(IReadOnlyList<string> addresses, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
            throw new ArgumentException("no etcd endpoint given: pass at least one, e.g. http://127.0.0.1:2379", nameof(addresses));
        var options = new GrpcChannelOptions { ConnectTimeout = connectTimeout };
        var endpoints = new List<Endpoint>();
        try
        {
            foreach (var address in addresses)
            {
                var normalized = Normalize(address);
                endpoints.Add(new Endpoint(endpoints.Count, normalized, GrpcChannel.ForAddress(normalized, options)));
            }
        }
        catch
        {
            endpoints.ForEach(e => e.Channel.Dispose());
            throw;
        }
        _endpoints = [.. endpoints];
        Addresses = [.. endpoints.Select(e => e.Address)];
    }

    public IReadOnlyList<string> Addresses { get; }

    public int Count => _endpoints.Length;

    /// <summary>Every endpoint once, the preferred one first.</summary>
    public IEnumerable<Endpoint> InTryOrder()
    {
        var first = Volatile.Read(ref _preferred);
        for (var i = 0; i < _endpoints.Length; i++)
            yield return _endpoints[(first + i) % _endpoints.Length];
    }

    public void Answered(Endpoint endpoint) => Volatile.Write(ref _preferred, endpoint.Index);

    /// <summary>Moves the preference past an endpoint that failed, unless another caller already did.</summary>
    public void Failed(Endpoint endpoint) =>
        Interlocked.CompareExchange(ref _preferred, (endpoint.Index + 1) % _endpoints.Length, endpoint.Index);

    public void Dispose()
    {
        foreach (var endpoint in _endpoints)
            endpoint.Channel.Dispose();
    }

    private static string Normalize(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
            throw new ArgumentException("an etcd endpoint is empty: use host:port or http://host:port", nameof(address));
        var trimmed = address.Trim().TrimEnd('/');
        return trimmed.Contains("://", StringComparison.Ordinal) ? trimmed : "http://" + trimmed;
    }
}
