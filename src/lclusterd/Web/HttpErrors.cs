using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// An API error as HTTP (docs/http.md): the gRPC status becomes the HTTP status, and the body is
/// {"code": "INVALID_ARGUMENT", "message": "..."} — the status's name as the .proto spells it, and the same
/// message a gRPC client gets.
/// </summary>
internal static class HttpErrors
{
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.Cancelled => 499, // the client went away; nobody reads it
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>"INVALID_ARGUMENT": the name google.rpc.Code and the .proto's comments use.</summary>
    public static string Name(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        _ => "UNKNOWN",
    };

    /// <summary>The error body alone (also the data of a stream's error event); quotes stay readable: it is JSON, sent as such with nosniff, never put in a page.</summary>
    public static byte[] Body(StatusCode code, string message)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("code", Name(code));
            json.WriteString("message", message);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Answers the request with the error; the response must not have started.</summary>
    public static async Task WriteAsync(HttpContext http, StatusCode code, string message)
    {
        http.Response.StatusCode = HttpStatus(code);
        http.Response.ContentType = "application/json";
        if (code == StatusCode.Unauthenticated)
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"lcluster\"";
        await http.Response.Body.WriteAsync(Body(code, message), http.RequestAborted);
    }

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
