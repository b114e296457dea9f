using System.Text.Json;

namespace Lcluster.Web.Tests;

/// <summary>
/// The part of JSON Schema /v1/openapi.json uses — $ref, anyOf, type, enum, properties, required,
/// additionalProperties, items — checked against a value; each mismatch as "path: what".
/// </summary>
public sealed class SchemaCheck(JsonElement document)
{
    public List<string> Problems { get; } = [];

    public SchemaCheck Check(JsonElement value, JsonElement schema, string path = "$")
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = document;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
                target = target.GetProperty(part);
            return Check(value, target, path);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            var fits = anyOf.EnumerateArray().Any(option => new SchemaCheck(document).Check(value, option, path).Problems.Count == 0);
            if (!fits)
                Problems.Add($"{path}: {value.GetRawText()} fits none of {anyOf.GetRawText()}");
            return this;
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => Is(value, t)))
            {
                Problems.Add($"{path}: {value.ValueKind} {value.GetRawText()} is not {string.Join(" or ", types)}");
                return this;
            }
        }
        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => v.GetRawText() == value.GetRawText()))
            Problems.Add($"{path}: {value.GetRawText()} is not one of {values.GetRawText()}");
        if (value.ValueKind == JsonValueKind.Object)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(name => !value.TryGetProperty(name, out _)))
                    Problems.Add($"{path}: lacks {name}");
            }
            foreach (var property in value.EnumerateObject())
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var sub))
                    Check(property.Value, sub, $"{path}.{property.Name}");
                else if (schema.TryGetProperty("additionalProperties", out var extra))
                {
                    if (extra.ValueKind == JsonValueKind.False)
                        Problems.Add($"{path}: {property.Name} is not in the description");
                    else if (extra.ValueKind == JsonValueKind.Object)
                        Check(property.Value, extra, $"{path}.{property.Name}");
                }
            }
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
                Check(item, items, $"{path}[{i++}]");
        }
        return this;
    }

    private static bool Is(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => false,
    };
}
