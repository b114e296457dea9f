using System.Runtime.CompilerServices;
using Grpc.Core;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Transport;

namespace Lcluster.Etcd.Watching;

/// <summary>
/// One watch on its own gRPC stream. It remembers the last revision delivered, so a broken
/// stream is reopened (on the next endpoint if need be) from that revision + 1: no event is
/// lost, none is repeated.
/// </summary>
internal sealed class WatchStream(EtcdClient client, string key, WatchOptions options)
{
    // Every event at or below this revision has been delivered, or precedes the start.
    private long _lastRevision = Math.Max(0, options.StartRevision - 1);

    // Whether _lastRevision is a position in history yet: false until etcd creates a "from now" watch.
    private bool _positioned = options.StartRevision > 0;

    public async IAsyncEnumerable<WatchEvents> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, client.Disposed);
        var token = linked.Token;
        var backoff = new Backoff();
        while (true)
        {
            var endpoint = client.Transport.Endpoints.InTryOrder().First();
            string? broken;
            using (var call = endpoint.Watch.Watch(new CallOptions(EtcdErrors.RequireLeader, cancellationToken: token)))
            {
                broken = await CreateAsync(call, endpoint, token);
                while (broken == null)
                {
                    var (response, error) = await ReadAsync(call, endpoint, token);
                    if (response == null)
                    {
                        broken = error;
                        break;
                    }
                    var batch = Accept(response, endpoint);
                    backoff.Reset();
                    if (batch != null)
                        yield return batch;
                }
            }
            client.Transport.Endpoints.Failed(endpoint);
            client.Transport.Log($"watch on {key} at etcd {endpoint.Address} broke ({broken}); resuming from revision {NextStart()}");
            await backoff.DelayAsync(token);
        }
    }

    private long NextStart() => _positioned ? _lastRevision + 1 : 0;

    private async Task<string?> CreateAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, Endpoint endpoint, CancellationToken token)
    {
        var create = new WatchCreateRequest
        {
            Key = KeyRange.Key(key),
            StartRevision = NextStart(),
            PrevKv = options.PrevKv,
            ProgressNotify = options.ProgressNotify,
        };
        if (options.Prefix)
            create.RangeEnd = KeyRange.PrefixEnd(create.Key);
        var (_, broken) = await EtcdErrors.OnStreamAsync(async () =>
        {
            await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, token);
            return true;
        }, endpoint, $"Watch {key}", token);
        return broken;
    }

    private async Task<(WatchResponse? Response, string? Error)> ReadAsync(
        AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, Endpoint endpoint, CancellationToken token)
    {
        var (response, broken) = await EtcdErrors.OnStreamAsync(
            async () => await call.ResponseStream.MoveNext(token) ? call.ResponseStream.Current : null, endpoint, $"Watch {key}", token);
        return broken is not null ? (null, broken) : response is null ? (null, "etcd ended the stream") : (response, null);
    }

    /// <summary>What the caller gets from one response (null: nothing), keeping the resume point current.</summary>
    private WatchEvents? Accept(WatchResponse response, Endpoint endpoint)
    {
        if (response.Canceled)
        {
            if (response.CompactRevision > 0)
            {
                throw new EtcdCompactedException(response.CompactRevision,
                    $"watch on {key} from revision {NextStart()} at etcd {endpoint.Address}: history before revision {response.CompactRevision} was compacted; re-read the current state and watch from the revision read + 1");
            }
            throw new EtcdException($"etcd at {endpoint.Address} cancelled the watch on {key}: {response.CancelReason}");
        }
        if (response.Created)
        {
            if (!_positioned)
            {
                _lastRevision = response.Header.Revision;
                _positioned = true;
            }
            return null;
        }
        if (response.Events.Count == 0)
        {
            _lastRevision = Math.Max(_lastRevision, response.Header.Revision);
            return new WatchEvents(response.Header.Revision, []);
        }
        // Defensive: whatever etcd sends again after a resume is not delivered twice.
        var events = response.Events.Where(e => e.Kv.ModRevision > _lastRevision).ToArray();
        if (events.Length == 0)
            return null;
        _lastRevision = events[^1].Kv.ModRevision;
        return new WatchEvents(response.Header.Revision, events);
    }
}
