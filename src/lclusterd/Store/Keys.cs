namespace Lcluster.Daemon.Store;

/// <summary>The etcd key layout (docs/etcd-keys.md), in one place.</summary>
internal static class Keys
{
    public const string Root = "/lcluster/";
    public const string Jobs = Root + "jobs/";

    /// <summary>Everything the prime decides from, under one prefix so one watch sees its changes in order.</summary>
    public const string Live = Root + "live/";
    public const string Queue = Live + "queue/";
    public const string Members = Live + "member/";
    public const string Runs = Live + "run/";
    public const string Outputs = Root + "out/";
    public const string Prime = Root + "prime";
    public const string Index = Root + "index/";

    /// <summary>Put by every Txn that writes or deletes a job record: its mod_revision is the last change of any job (listings wait for their view to reach it).</summary>
    public const string JobsChanged = Root + "jobs-changed";

    /// <summary>The usage ledger: one key per stored job, under its owner, holding the bytes it holds in etcd on the owner's account.</summary>
    public const string Usage = Root + "usage/";

    public static string Job(string id) => Jobs + id;
    public static string Spec(string id) => Root + "spec/" + id;
    public static string Stdin(string id) => Root + "stdin/" + id;
    public static string Tails(string id) => Root + "tail/" + id + "/";
    public static string Tail(string id, bool stderr) => Tails(id) + (stderr ? "stderr" : "stdout");
    public static string QueueEntry(string id) => Queue + id;
    public static string Member(string node) => Members + node;

    /// <summary>The run keys of one node: one per job placed on it; each holds one of its slots. The node watches only these and its outputs.</summary>
    public static string RunPrefix(string node) => Runs + node + "/";
    public static string Run(string node, string id) => RunPrefix(node) + id;

    /// <summary>One key per job whose output a node keeps: deleted with the job, which tells the node to delete the files.</summary>
    public static string OutPrefix(string node) => Outputs + node + "/";
    public static string Out(string node, string id) => OutPrefix(node) + id;

    public static string UsageEntry(string owner, string id) => Usage + JobIndex.Escape(owner) + "/" + id;

    /// <summary>The (escaped) owner of a usage key.</summary>
    public static string UsageOwner(string key) => key[Usage.Length..key.LastIndexOf('/')];

    /// <summary>A usage value: the byte count in decimal ASCII (0 when unreadable).</summary>
    public static long UsageBytes(ReadOnlySpan<byte> value) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : 0;

    public static Google.Protobuf.ByteString UsageValue(long bytes) =>
        Google.Protobuf.ByteString.CopyFromUtf8(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The last path segment: the job id of a jobs/, queue/, run/ or out/ key; the node of a members/ key.</summary>
    public static string Last(string key) => key[(key.LastIndexOf('/') + 1)..];

    /// <summary>The node of a run/ or out/ key.</summary>
    public static string NodeOf(string key)
    {
        var rest = key.StartsWith(Runs, StringComparison.Ordinal) ? key[Runs.Length..] : key[Outputs.Length..];
        return rest[..rest.IndexOf('/')];
    }
}
