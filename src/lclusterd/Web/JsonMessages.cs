using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Lcluster.Shared;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// The API's messages as JSON (docs/http.md): protobuf's own JSON mapping (Google.Protobuf's JsonFormatter and
/// JsonParser, which need no run-time code generation), with the .proto's field names (exit_code, as lclusterc
/// --json prints them), every field present (an unset one as its default, or null), enums by name, 64-bit
/// integers as strings. Requests may use either field spelling, and enums by name or number.
/// </summary>
internal static class JsonMessages
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithPreserveProtoFieldNames(true));

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    public static string Format(IMessage message) => Formatter.Format(message);

    public static async Task WriteAsync(HttpContext http, IMessage message, int status = StatusCodes.Status200OK)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(Formatter.Format(message), http.RequestAborted);
    }

    /// <summary>The request body as <typeparamref name="T"/>: JSON, at most the size a gRPC message may be; INVALID_ARGUMENT or RESOURCE_EXHAUSTED otherwise.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext http) where T : IMessage<T>, new()
    {
        var type = http.Request.ContentType;
        if (type is not null && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw HttpErrors.Invalid($"the body is {type}: send JSON, with Content-Type: application/json");
        var text = await ReadTextAsync(http.Request.Body, NodeChannel.MaxRequestBytes, http.RequestAborted);
        // A body must say it is JSON: a page of another site can send a body without a type (or as text/plain) unasked,
        // but not one that says application/json.
        if (type is null && text.Length > 0)
            throw HttpErrors.Invalid("the body has no Content-Type: send JSON, with Content-Type: application/json");
        try
        {
            return Parser.Parse<T>(text.Length == 0 ? "{}" : text);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw HttpErrors.Invalid($"the body is not a {typeof(T).Name} in JSON: {e.Message}");
        }
        catch (InvalidJsonException e)
        {
            throw HttpErrors.Invalid($"the body is not JSON: {e.Message}");
        }
    }

    private static async Task<string> ReadTextAsync(Stream body, int limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > limit)
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the body is over {Units.FormatBytes(limit)}, the most a request may be"));
            buffer.Write(chunk, 0, n);
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            throw HttpErrors.Invalid("the body is not UTF-8 text");
        }
    }
}
