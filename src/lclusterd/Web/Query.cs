using System.Globalization;
using Grpc.Core;
using Lcluster.Shared;
using Lcluster.V1;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Daemon.Web;

/// <summary>
/// A request's query string, read strictly: only the parameters its route documents, each at most once, each
/// value of its type — anything else is INVALID_ARGUMENT naming the parameter, as a bad field of a gRPC request is.
/// </summary>
internal sealed class Query
{
    private readonly IQueryCollection _query;

    public Query(IQueryCollection query, HttpRoute route)
    {
        _query = query;
        foreach (var (name, values) in query)
        {
            if (route.Query.All(p => p.Name != name))
                throw HttpErrors.Invalid($"unknown query parameter '{Shown(name)}': {route.Method} {route.Path} takes " +
                                         (route.Query.Count == 0 ? "none" : string.Join(", ", route.Query.Select(p => p.Name))));
            if (values.Count > 1)
                throw HttpErrors.Invalid($"query parameter {name} given {values.Count} times");
        }
    }

    public string Text(string name) => _query.TryGetValue(name, out var value) ? value.ToString() : "";

    public int Int32(string name) =>
        Text(name) is { Length: > 0 } text
            ? int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw NotWhole(name, text)
            : 0;

    public long Int64(string name) =>
        Text(name) is { Length: > 0 } text
            ? long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw NotWhole(name, text)
            : 0;

    /// <summary>true/false (also 1/0); absent is false.</summary>
    public bool Bool(string name) => Text(name) switch
    {
        "" or "false" or "0" => false,
        "true" or "1" => true,
        var text => throw HttpErrors.Invalid($"{name} '{Shown(text)}' is not true or false"),
    };

    /// <summary>A job state as lclusterc names it (running), as the .proto does (JOB_STATE_RUNNING), or by number; absent is any state.</summary>
    public JobState State(string name)
    {
        var text = Text(name);
        if (text.Length == 0)
            return JobState.Unspecified;
        foreach (var state in JobStates.All)
        {
            if (string.Equals(text, JobStates.Name(state), StringComparison.OrdinalIgnoreCase)
                || string.Equals(text, "JOB_STATE_" + JobStates.Name(state), StringComparison.OrdinalIgnoreCase)
                || text == ((int)state).ToString(CultureInfo.InvariantCulture))
                return state;
        }
        throw HttpErrors.Invalid($"{name} '{Shown(text)}' is not a job state; use one of {string.Join(", ", JobStates.All.Select(JobStates.Name))}");
    }

    /// <summary>A user's text in a message: escaped, and cut short.</summary>
    public static string Shown(string text) => PrintableText.Shorten(text, 80);

    private static RpcException NotWhole(string name, string text) => HttpErrors.Invalid($"{name} '{Shown(text)}' is not a whole number");
}
