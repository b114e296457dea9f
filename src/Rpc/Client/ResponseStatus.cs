using System.Net;

namespace Lcluster.Rpc;

/// <summary>Where a client finds a call's status: the HTTP status, the headers (trailers-only), or the trailers.</summary>
internal static class ResponseStatus
{
    /// <summary>The status already decided by the response headers, or null when messages follow.</summary>
    public static Status? FromHeaders(HttpResponseMessage response, string target)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = (int)response.StatusCode;
            return new Status(FromHttpStatus(code),
                $"{target} answered with HTTP status {code} {response.ReasonPhrase}, not a gRPC response");
        }
        if (Status.From(response.Headers) is { } trailersOnly)
            return trailersOnly;
        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (!GrpcHeaders.IsGrpcContentType(contentType))
            return new Status(StatusCode.Internal,
                $"{target} answered with content-type '{contentType}', not a gRPC response");
        return null;
    }

    public static Status FromTrailers(HttpResponseMessage response) =>
        Status.From(response.TrailingHeaders)
        ?? new Status(StatusCode.Unknown, "the server ended the response without a grpc-status");

    // PROTOCOL-HTTP2.md: the code a client reports when a response is not gRPC.
    private static StatusCode FromHttpStatus(int status) => status switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
