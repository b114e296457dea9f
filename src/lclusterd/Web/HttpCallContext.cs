using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// An HTTP request as the API methods see a gRPC call: they read the caller from the HttpContext
/// (<see cref="Api.Caller.Of"/>, through GetHttpContext, which looks in UserState under the key gRPC's own
/// JSON transcoding uses), and stop when the client goes away.
/// </summary>
internal sealed class HttpCallContext : ServerCallContext
{
    private readonly HttpContext _http;

    public HttpCallContext(HttpContext http, string method)
    {
        _http = http;
        MethodCore = method;
        UserState["__HttpContext"] = http;
    }

    protected override string MethodCore { get; }
    protected override string HostCore => _http.Request.Host.Value ?? "";
    protected override string PeerCore => _http.Connection.RemoteIpAddress?.ToString() ?? "unix";
    protected override DateTime DeadlineCore => DateTime.MaxValue;
    protected override Metadata RequestHeadersCore { get; } = [];
    protected override CancellationToken CancellationTokenCore => _http.RequestAborted;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("an HTTP request cannot propagate its call to another gRPC call");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
