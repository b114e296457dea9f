using Lcluster.Rpc;

namespace Lcluster.Client;

/// <summary>Tells "the server could not be reached" apart from "the server answered UNAVAILABLE".</summary>
internal static class ConnectionFailure
{
    // src/Rpc keeps the transport's exception inside; a status the server sent has none.
    public static bool IsTransport(RpcException e) => e.InnerException is not null;

    /// <summary>"connection refused", from "cannot reach HOST:PORT: connection refused".</summary>
    public static string Cause(RpcException e)
    {
        const string marker = ": ";
        var at = e.Detail.StartsWith("cannot reach ", StringComparison.Ordinal) ? e.Detail.IndexOf(marker, "cannot reach ".Length, StringComparison.Ordinal) : -1;
        return at >= 0 ? e.Detail[(at + marker.Length)..] : e.Detail;
    }
}
