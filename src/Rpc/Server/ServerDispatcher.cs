using Microsoft.AspNetCore.Http;

namespace Lcluster.Rpc;

/// <summary>
/// Kestrel's request delegate: checks that a request is gRPC, finds its method, and runs it.
/// Requests that never reach a handler are answered here (405, 415, trailers-only errors).
/// </summary>
internal sealed class ServerDispatcher(
    IReadOnlyDictionary<string, ServerMethod> methods, GrpcServerOptions options, CancellationToken stopping)
{
    public async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var response = http.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return;
        }
        if (!GrpcHeaders.IsGrpcContentType(request.ContentType))
        {
            // 415, not 200 + grpc-status: a non-gRPC client must not mistake this for success.
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync($"gRPC requests need content-type application/grpc, not '{request.ContentType}'\n");
            return;
        }
        response.ContentType = GrpcHeaders.ContentType;

        var path = request.Path.Value ?? "";
        if (!methods.TryGetValue(path, out var method))
        {
            TrailersOnly(response, StatusCode.Unimplemented, $"unknown method {path}");
            return;
        }
        var encoding = request.Headers[GrpcHeaders.Encoding].ToString();
        if (encoding.Length > 0 && encoding != GrpcHeaders.Identity)
        {
            response.Headers[GrpcHeaders.AcceptEncoding] = GrpcHeaders.Identity;
            TrailersOnly(response, StatusCode.Unimplemented, $"compression '{encoding}' is not supported: send messages uncompressed");
            return;
        }
        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers[GrpcHeaders.Timeout].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var parsed))
            {
                TrailersOnly(response, StatusCode.Internal, $"malformed grpc-timeout '{timeoutHeader}'");
                return;
            }
            timeout = parsed;
        }

        using var call = new ServerCall(http, options, timeout, stopping);
        await method.InvokeAsync(call);
    }

    private static void TrailersOnly(HttpResponse response, StatusCode code, string message)
    {
        response.Headers[GrpcHeaders.Status] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers[GrpcHeaders.Message] = StatusText.Encode(message);
    }
}
