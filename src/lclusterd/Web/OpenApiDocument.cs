using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf.Reflection;
using Lcluster.V1;

namespace Lcluster.Daemon.Web;

/// <summary>
/// GET /v1/openapi.json (OpenAPI 3.1): made from the routes the daemon maps (<see cref="HttpRoutes"/>) and from
/// the messages' descriptors in protos/lcluster.proto, written as <see cref="JsonMessages"/> writes them — so
/// the description follows the API when either changes. Made on the first request, then kept.
/// </summary>
internal static class OpenApiDocument
{
    private const string Ref = "#/components/schemas/";
    private static readonly Lazy<byte[]> Made = new(Make);

    public static byte[] Bytes => Made.Value;

    private static byte[] Make()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("openapi", "3.1.0");
            json.WriteStartObject("info");
            json.WriteString("title", "lcluster HTTP/JSON API");
            json.WriteString("version", "v1");
            json.WriteString("description", "Every rpc of protos/lcluster.proto as JSON over HTTP (docs/http.md). Messages follow protobuf's JSON mapping " +
                "with the .proto's field names; errors are {\"code\": \"INVALID_ARGUMENT\", \"message\": \"...\"} with the HTTP status of the gRPC status.");
            json.WriteEndObject();
            json.WriteStartObject("paths");
            foreach (var path in HttpRoutes.All.GroupBy(r => r.Path))
            {
                json.WriteStartObject(path.Key);
                foreach (var route in path)
                    WriteOperation(json, route);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteStartObject("components");
            json.WriteStartObject("securitySchemes");
            json.WriteStartObject("dashboardToken");
            json.WriteString("type", "http");
            json.WriteString("scheme", "bearer");
            json.WriteString("description", "A token from `lclusterc --dashboard` (or CreateDashboardToken); the node's HTTP socket and client certificates need none");
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("schemas");
            WriteError(json);
            foreach (var message in Messages())
                WriteMessage(json, message);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteOperation(Utf8JsonWriter json, HttpRoute route)
    {
        json.WriteStartObject(route.Method.ToLowerInvariant());
        json.WriteString("operationId", route.Operation);
        json.WriteString("summary", route.Summary);
        if (route.Public)
        {
            json.WriteStartArray("security");
            json.WriteStartObject();
            json.WriteEndObject();
            json.WriteEndArray();
        }
        json.WriteStartArray("parameters");
        if (route.Path.Contains("{id}", StringComparison.Ordinal))
            WriteParameter(json, "id", "path", "string", "the job's UUID", null, required: true);
        foreach (var p in route.Query)
            WriteParameter(json, p.Name, "query", p.Type, p.Description, p.Values, required: false);
        json.WriteEndArray();
        if (route.BodyMediaType is { } media)
        {
            json.WriteStartObject("requestBody");
            json.WriteBoolean("required", true);
            json.WriteStartObject("content");
            json.WriteStartObject(media);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        else if (route.Body is { } body)
        {
            json.WriteStartObject("requestBody");
            json.WriteBoolean("required", false);
            json.WriteStartObject("content");
            json.WriteStartObject("application/json");
            WriteSchemaRef(json, "schema", body.Name);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteStartObject("responses");
        json.WriteStartObject("200");
        json.WriteString("description", route.Answer?.Name ?? route.AnswerMediaType);
        json.WriteStartObject("content");
        json.WriteStartObject(route.Answer is null ? route.AnswerMediaType! : "application/json");
        if (route.Answer is { } answer)
            WriteSchemaRef(json, "schema", answer.Name);
        else if (route.AnswerMediaType == "text/event-stream")
            json.WriteString("x-event-data", Ref + JobEvent.Descriptor.Name);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("default");
        json.WriteString("description", "an error: the HTTP status of its gRPC status (400, 401, 403, 404, 409, 429, 503, 500)");
        json.WriteStartObject("content");
        json.WriteStartObject("application/json");
        WriteSchemaRef(json, "schema", "Error");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteParameter(Utf8JsonWriter json, string name, string where, string type, string description, IReadOnlyList<string>? values, bool required)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteString("in", where);
        json.WriteBoolean("required", required);
        json.WriteString("description", description);
        json.WriteStartObject("schema");
        json.WriteString("type", type);
        if (values is not null)
        {
            json.WriteStartArray("enum");
            foreach (var v in values)
                json.WriteStringValue(v);
            json.WriteEndArray();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteError(Utf8JsonWriter json)
    {
        json.WriteStartObject("Error");
        json.WriteString("type", "object");
        json.WriteStartArray("required");
        json.WriteStringValue("code");
        json.WriteStringValue("message");
        json.WriteEndArray();
        json.WriteBoolean("additionalProperties", false);
        json.WriteStartObject("properties");
        json.WriteStartObject("code");
        json.WriteString("type", "string");
        json.WriteString("description", "the gRPC status's name: INVALID_ARGUMENT, NOT_FOUND, ...");
        json.WriteEndObject();
        json.WriteStartObject("message");
        json.WriteString("type", "string");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Every message of lcluster.proto a route reads or answers, and the messages inside them.</summary>
    private static IEnumerable<MessageDescriptor> Messages()
    {
        var seen = new SortedDictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        var pending = new Stack<MessageDescriptor>(HttpRoutes.All.SelectMany(r => new[] { r.Body, r.Answer }).OfType<MessageDescriptor>().Append(JobEvent.Descriptor));
        while (pending.TryPop(out var message))
        {
            if (message.IsMapEntry || IsWellKnown(message) || !seen.TryAdd(message.Name, message))
                continue;
            foreach (var field in message.Fields.InFieldNumberOrder())
            {
                var value = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
                if (value.FieldType == FieldType.Message)
                    pending.Push(value.MessageType);
            }
        }
        return seen.Values;
    }

    private static void WriteMessage(Utf8JsonWriter json, MessageDescriptor message)
    {
        json.WriteStartObject(message.Name);
        json.WriteString("type", "object");
        json.WriteBoolean("additionalProperties", false);
        json.WriteStartObject("properties");
        foreach (var field in message.Fields.InFieldNumberOrder())
        {
            json.WriteStartObject(field.Name);
            if (field.IsMap)
            {
                json.WriteString("type", "object");
                json.WriteStartObject("additionalProperties");
                WriteValue(json, field.MessageType.FindFieldByNumber(2));
                json.WriteEndObject();
            }
            else if (field.IsRepeated)
            {
                json.WriteString("type", "array");
                json.WriteStartObject("items");
                WriteValue(json, field);
                json.WriteEndObject();
            }
            else
            {
                WriteValue(json, field);
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>One value of a field, as protobuf's JSON mapping writes it (an unset message field as null).</summary>
    private static void WriteValue(Utf8JsonWriter json, FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.String:
                json.WriteString("type", "string");
                break;
            case FieldType.Bool:
                json.WriteString("type", "boolean");
                break;
            case FieldType.Bytes:
                json.WriteString("type", "string");
                json.WriteString("contentEncoding", "base64");
                break;
            case FieldType.Double or FieldType.Float:
                json.WriteString("type", "number");
                break;
            case FieldType.Int64 or FieldType.UInt64 or FieldType.SInt64 or FieldType.Fixed64 or FieldType.SFixed64:
                // Written as a string (a JavaScript number cannot hold every 64-bit integer); read as either.
                WriteTypes(json, "string", "integer");
                json.WriteString("format", "int64");
                break;
            case FieldType.Enum:
                json.WriteString("type", "string");
                json.WriteStartArray("enum");
                foreach (var value in field.EnumType.Values)
                    json.WriteStringValue(value.Name);
                json.WriteEndArray();
                break;
            case FieldType.Message when field.MessageType.FullName == "google.protobuf.Timestamp":
                WriteTypes(json, "string", "null");
                json.WriteString("format", "date-time");
                break;
            case FieldType.Message when field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal)
                                        && field.MessageType.Name.EndsWith("Value", StringComparison.Ordinal):
                WriteTypes(json, field.MessageType.Name is "StringValue" or "BytesValue" ? "string" : field.MessageType.Name == "BoolValue" ? "boolean" : "integer", "null");
                break;
            case FieldType.Message:
                json.WriteStartArray("anyOf");
                json.WriteStartObject();
                json.WriteString("$ref", Ref + field.MessageType.Name);
                json.WriteEndObject();
                json.WriteStartObject();
                json.WriteString("type", "null");
                json.WriteEndObject();
                json.WriteEndArray();
                break;
            default:
                json.WriteString("type", "integer");
                json.WriteString("format", "int32");
                break;
        }
    }

    private static void WriteTypes(Utf8JsonWriter json, params string[] types)
    {
        json.WriteStartArray("type");
        foreach (var t in types)
            json.WriteStringValue(t);
        json.WriteEndArray();
    }

    private static void WriteSchemaRef(Utf8JsonWriter json, string property, string name)
    {
        json.WriteStartObject(property);
        json.WriteString("$ref", Ref + name);
        json.WriteEndObject();
    }

    private static bool IsWellKnown(MessageDescriptor message) => message.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal);
}
