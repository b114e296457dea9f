using Grpc.Core;
using Lcluster.Daemon.Api;
using Lcluster.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lcluster.Daemon.Web;

/// <summary>
/// The HTTP/JSON API (docs/http.md): each route of <see cref="HttpRoutes"/> calls the same method of JobsApi,
/// ListingApi, OutputApi or DashboardApi that its rpc does, with the same caller — so the same validation, the
/// same errors (as HTTP statuses with a JSON body) and the same ownership rules. Only the HTTP endpoints serve
/// these; on the gRPC endpoints they do not exist.
/// </summary>
internal sealed class HttpApi(ApiMethods api, DashboardApi dashboard, WebIdentity identity, Hosting.CallLimits calls, Hosting.Log log)
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public void Map(IEndpointRouteBuilder app)
    {
        Map(app, HttpRoutes.AddJob, async (http, call) =>
            await JsonMessages.WriteAsync(http, await api.Jobs.AddJobAsync(await JsonMessages.ReadAsync<AddJobRequest>(http), call)));
        Map(app, HttpRoutes.ListJobs, async (http, call) =>
        {
            var query = new Query(http.Request.Query, HttpRoutes.ListJobs);
            var request = new ListJobsRequest
            {
                State = query.State("state"),
                Owner = query.Text("owner"),
                Name = query.Text("name"),
                PageSize = query.Int32("page_size"),
                PageToken = query.Text("page_token"),
            };
            await JsonMessages.WriteAsync(http, await api.Listing.ListJobsAsync(request, call));
        });
        Map(app, HttpRoutes.CheckJob, async (http, call) =>
            await JsonMessages.WriteAsync(http, await api.Jobs.CheckJobAsync(new CheckJobRequest { Id = JobId(http) }, call)));
        Map(app, HttpRoutes.RemoveJob, async (http, call) =>
            await JsonMessages.WriteAsync(http, await api.Jobs.RemoveJobAsync(new RemoveJobRequest { Id = JobId(http) }, call)));
        Map(app, HttpRoutes.GetOutput, GetOutputAsync);
        Map(app, HttpRoutes.ListNodes, async (http, call) =>
            await JsonMessages.WriteAsync(http, await api.Listing.ListNodesAsync(new ListNodesRequest(), call)));
        Map(app, HttpRoutes.WatchJobs, WatchJobsAsync);
        Map(app, HttpRoutes.CreateDashboardToken, async (http, call) =>
            await JsonMessages.WriteAsync(http, await dashboard.CreateTokenAsync(await JsonMessages.ReadAsync<CreateDashboardTokenRequest>(http), call)));
        Map(app, HttpRoutes.StartDashboardSession, async (http, _) => await JsonMessages.WriteAsync(http, dashboard.StartSession(http)));
        Map(app, HttpRoutes.UploadInputs, async (http, call) =>
        {
            if (!string.Equals(http.Request.ContentType, "application/x-tar", StringComparison.OrdinalIgnoreCase))
                throw HttpErrors.Invalid($"the body is {(http.Request.ContentType is { } type ? type : "of no Content-Type")}: send a tar archive, with Content-Type: application/x-tar");
            // The node's --max-input bounds the archive (UploadAsync counts it as it comes), not Kestrel's 30 MB.
            if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null;
            await JsonMessages.WriteAsync(http, await api.Inputs.UploadAsync(new ArchiveBodyReader(http.Request, http.RequestAborted), call));
        });
        Map(app, HttpRoutes.GetInputs, async (http, call) =>
            await api.Inputs.GetInputsAsync(new GetInputsRequest { Id = JobId(http) }, TarBody(http), call));
        Map(app, HttpRoutes.GetArtifacts, async (http, call) =>
            await api.Artifacts.GetArtifactsAsync(new GetArtifactsRequest { Id = JobId(http) }, TarBody(http), call));
        Map(app, HttpRoutes.OpenApi, async (http, _) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(OpenApiDocument.Bytes, http.RequestAborted);
        });
    }

    /// <summary>Maps a route whose handler runs with the request's caller established and its errors answered as JSON.</summary>
    private void Map(IEndpointRouteBuilder app, HttpRoute route, Func<HttpContext, ServerCallContext, Task> handle) =>
        app.MapMethods(route.Path, [route.Method], http => RunAsync(http, route, handle));

    /// <summary>The frame of every route: HTTP endpoints only, the caller, the gRPC status of a failure as HTTP.</summary>
    public async Task RunAsync(HttpContext http, HttpRoute route, Func<HttpContext, ServerCallContext, Task> handle)
    {
        if (http.Features.Get<HttpSurface>() is not { } surface)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-store";
        try
        {
            if (CrossSite.Refusal(http.Request, surface) is { } refused)
                throw new RpcException(new Status(StatusCode.PermissionDenied, refused));
            _ = new Query(http.Request.Query, route); // every route refuses what it does not take, not only those that read one
            if (!route.Public)
                Authenticate(http);
            // A token's caller is who it names until it expires, on an open stream too: the stream ends then.
            var session = http.Features.Get<TokenSession>();
            using var expiry = session is null ? null : CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            if (session is not null && expiry is not null)
            {
                expiry.CancelAfter(TimeSpan.FromTicks(Math.Max(0, (session.Expires - DateTimeOffset.UtcNow).Ticks)));
                http.RequestAborted = expiry.Token;
            }
            using var slot = http.Features.Get<Caller>() is { } caller
                ? calls.TryEnter(caller) ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, Hosting.CallLimits.Refusal(caller)))
                : null;
            await handle(http, new HttpCallContext(http, route.Rpc ?? route.Operation));
        }
        catch (RpcException e) when (!http.Response.HasStarted)
        {
            await HttpErrors.WriteAsync(http, e.StatusCode, e.Status.Detail);
        }
        catch (RpcException e) when (http.RequestAborted.IsCancellationRequested || e.StatusCode == StatusCode.Cancelled)
        {
            // The client went away mid-answer.
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (RpcException e)
        {
            // Part of the answer went out already: cut it, so the client sees it incomplete rather than ended.
            log.Warn($"http {route.Method} {route.Path}: failed while answering ({e.Status.Detail}); the response was cut");
            http.Abort();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Error($"http {route.Method} {route.Path}: {e}");
            if (http.Response.HasStarted)
                http.Abort();
            else
                await HttpErrors.WriteAsync(http, StatusCode.Internal, "lclusterd failed on this request; its log has the details"); // as gRPC: no paths or internals to the caller
        }
    }

    /// <summary>The caller from the connection or a dashboard token; UNAUTHENTICATED, saying how to get an identity, when neither.</summary>
    private void Authenticate(HttpContext http)
    {
        var refused = identity.Establish(http);
        if (http.Features.Get<Caller>() is not null)
            return;
        throw new RpcException(new Status(StatusCode.Unauthenticated, refused ??
            "this request carries no identity lclusterd accepts: use the node's HTTP socket, a client certificate of the cluster's CA, " +
            "or a dashboard token from `lclusterc --dashboard` (Authorization: Bearer TOKEN)"));
    }

    private async Task GetOutputAsync(HttpContext http, ServerCallContext call)
    {
        var query = new Query(http.Request.Query, HttpRoutes.GetOutput);
        var request = new GetOutputRequest
        {
            Id = JobId(http),
            Stream = query.Text("stream") switch
            {
                "" or "stdout" => OutputStream.Stdout,
                "stderr" => OutputStream.Stderr,
                var other => throw HttpErrors.Invalid($"stream '{Query.Shown(other)}' is not stdout or stderr"),
            },
            Follow = query.Bool("follow"),
        };
        // The same checks GetOutput makes, made first: a refusal is an HTTP status, not a cut stream.
        await api.Jobs.CheckJobAsync(new CheckJobRequest { Id = request.Id }, call);
        http.Response.ContentType = "application/octet-stream";
        await http.Response.StartAsync(http.RequestAborted);
        await api.Output.GetOutputAsync(request, new BodyWriter<OutputChunk>(http.Response, c => c.Data, contentType: null, flushEach: true, http.RequestAborted), call);
    }

    private async Task WatchJobsAsync(HttpContext http, ServerCallContext call)
    {
        var query = new Query(http.Request.Query, HttpRoutes.WatchJobs);
        var request = new WatchJobsRequest
        {
            StartRevision = query.Int64("start_revision"), AfterId = query.Text("after_id"), Id = query.Text("id"), Owner = query.Text("owner"),
        };
        if (http.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } last)
        {
            (request.StartRevision, request.AfterId) = EventStreamWriter.ResumeAfter(last)
                ?? throw HttpErrors.Invalid($"Last-Event-ID '{Query.Shown(last)}' is not an id this stream sent");
        }
        // A refusal (another's job, a bad revision) is an HTTP status: nothing of the stream has gone out yet.
        var checkedWatch = await api.Listing.CheckWatchAsync(request, call);
        using var events = new EventStreamWriter(http.Response, http.RequestAborted);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        await events.BeginAsync();
        var keepAlive = KeepAliveAsync(events, done.Token);
        try
        {
            await api.Listing.RunWatchAsync(checkedWatch, events, call);
        }
        catch (RpcException e) when (!http.RequestAborted.IsCancellationRequested)
        {
            await events.FailAsync(e.StatusCode, e.Status.Detail);
        }
        finally
        {
            await done.CancelAsync();
            await keepAlive;
        }
    }

    private static async Task KeepAliveAsync(EventStreamWriter events, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(KeepAlive);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
                await events.KeepAliveAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The stream ended, or its client went away.
        }
    }

    private static string JobId(HttpContext http) => http.Request.RouteValues["id"] as string ?? "";

    /// <summary>A file rpc's chunks (one tar archive) as the response body.</summary>
    private static BodyWriter<FileChunk> TarBody(HttpContext http) =>
        new(http.Response, c => c.Data, "application/x-tar", flushEach: false, http.RequestAborted);
}
