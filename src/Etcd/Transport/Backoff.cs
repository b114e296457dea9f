namespace Lcluster.Etcd.Transport;

/// <summary>Growing pauses between reconnects (0.1 s doubling to 2 s), so a down etcd is not hammered.</summary>
internal sealed class Backoff
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);

    private TimeSpan _next = First;

    public void Reset() => _next = First;

    public async Task DelayAsync(CancellationToken cancellationToken, TimeSpan? atMost = null)
    {
        var delay = atMost is { } limit && limit < _next ? limit : _next;
        _next = _next * 2 > Max ? Max : _next * 2;
        if (delay > TimeSpan.Zero)
            await Task.Delay(delay, cancellationToken);
    }
}
