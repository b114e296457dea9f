namespace Lcluster.Daemon.Store;

/// <summary>The etcd key layout (docs/etcd-keys.md), in one place.</summary>
internal static class Keys
{
    public const string Root = "/lcluster/";
    public const string Jobs = Root + "jobs/";
    public const string Queue = Root + "queue/";
    public const string Members = Root + "members/";
    public const string Nodes = Root + "node/";
    public const string Prime = Root + "prime";

    public static string Job(string id) => Jobs + id;
    public static string Stdin(string id) => Root + "stdin/" + id;
    public static string Tail(string id, bool stderr) => Root + "tail/" + id + (stderr ? "/stderr" : "/stdout");
    public static string QueueEntry(string id) => Queue + id;
    public static string Member(string node) => Members + node;

    /// <summary>Everything about one node's work: its prefix, the only one it watches.</summary>
    public static string Node(string node) => Nodes + node + "/";
    public static string RunPrefix(string node) => Node(node) + "run/";
    public static string Run(string node, string id) => RunPrefix(node) + id;
    public static string OutPrefix(string node) => Node(node) + "out/";
    public static string Out(string node, string id) => OutPrefix(node) + id;

    /// <summary>The last path segment: the job id of a jobs/, queue/, run/ or out/ key; the node of a members/ key.</summary>
    public static string Last(string key) => key[(key.LastIndexOf('/') + 1)..];

    /// <summary>(node, kind, id) of a key under node/: kind is "run" or "out".</summary>
    public static (string Node, string Kind, string Id)? ParseNodeKey(string key)
    {
        if (!key.StartsWith(Nodes, StringComparison.Ordinal))
            return null;
        var parts = key[Nodes.Length..].Split('/');
        return parts.Length == 3 ? (parts[0], parts[1], parts[2]) : null;
    }
}
