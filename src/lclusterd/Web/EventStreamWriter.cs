using System.Globalization;
using System.Text;
using Grpc.Core;
using Lcluster.V1;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// WatchJobs' events as server-sent events (docs/http.md): "id: REVISION/JOB-ID", "event: job", "data: JOBEVENT-JSON";
/// a browser's EventSource that reconnects sends the last id back (Last-Event-ID) and resumes after it, within its
/// revision too (one revision may change many jobs). An error
/// once the stream has begun is an "event: error" whose data is the usual error body. The headers go out when the
/// stream begins (<see cref="BeginAsync"/>) or with the first event, whichever comes first; writes are serialized,
/// so keep-alive comments may come from another task.
/// </summary>
internal sealed class EventStreamWriter(HttpResponse response, CancellationToken ct) : IServerStreamWriter<JobEvent>, IDisposable
{
    /// <summary>How long a browser waits before it reconnects a broken stream.</summary>
    private const int RetryMilliseconds = 2000;

    private readonly SemaphoreSlim _write = new(1, 1);
    private bool _begun;

    public WriteOptions? WriteOptions { get; set; }

    public Task BeginAsync() => SendAsync("");

    public Task WriteAsync(JobEvent message) => WriteAsync(message, ct);

    /// <summary>The stream's own token governs every write (the request's): the caller's token is that same one.</summary>
    public Task WriteAsync(JobEvent message, CancellationToken cancellationToken) =>
        SendAsync($"id: {message.Revision.ToString(CultureInfo.InvariantCulture)}/{message.Job.Id}\nevent: job\ndata: {JsonMessages.Format(message)}\n\n");

    /// <summary>Where a stream resumes after the event of this id ("REVISION/JOB-ID"; a bare REVISION: after all of it); null when it is none.</summary>
    public static (long StartRevision, string AfterId)? ResumeAfter(string id)
    {
        var slash = id.IndexOf('/');
        if (!long.TryParse(slash < 0 ? id : id[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var revision) || revision < 1)
            return null;
        return slash < 0 ? (revision + 1, "") : (revision, id[(slash + 1)..]);
    }

    /// <summary>A comment line: keeps proxies and browsers from closing an idle stream.</summary>
    public Task KeepAliveAsync() => SendAsync(": keep-alive\n\n");

    public Task FailAsync(StatusCode code, string message) =>
        SendAsync($"event: error\ndata: {Encoding.UTF8.GetString(HttpErrors.Body(code, message))}\n\n");

    public bool Begun => Volatile.Read(ref _begun);

    private async Task SendAsync(string text)
    {
        await _write.WaitAsync(ct);
        try
        {
            if (!_begun)
            {
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
                response.Headers["X-Accel-Buffering"] = "no";
                text = $"retry: {RetryMilliseconds}\n\n" + text;
                Volatile.Write(ref _begun, true);
            }
            await response.WriteAsync(text, ct);
            await response.Body.FlushAsync(ct);
        }
        finally
        {
            _write.Release();
        }
    }

    public void Dispose() => _write.Dispose();
}
