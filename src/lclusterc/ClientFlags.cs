using System.Globalization;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>What the user asked for, parsed from the command line.</summary>
internal enum Verb { AddJob, CheckJob, RemoveJob, ListJobs, Output, Download, Nodes, Dashboard, Help, Version }

/// <summary>A command flag (exactly one per call) and the options that may come with it.</summary>
internal sealed record CommandFlag(Verb Verb, Flag Flag, IReadOnlyList<Flag> Options);

/// <summary>
/// Every flag of lclusterc, once: its name, value, description and default. The parser (CommandLine), its
/// checks and --help (Usage) read only these.
/// </summary>
internal static class ClientFlags
{
    /// <summary>The environment variable that names the server when --server does not.</summary>
    public const string ServerVariable = "LCLUSTER_SERVER";

    /// <summary>The environment variables that name the TLS files when the flags do not.</summary>
    public const string CaVariable = "LCLUSTER_CACERT", CertVariable = "LCLUSTER_CERT", KeyVariable = "LCLUSTER_KEY";

    /// <summary>The most jobs one --listjobs may ask for: lclusterc's own bound (the server takes any count).</summary>
    public const int MaxListed = 100_000;

    public static readonly Flag<string> AddJob = Flag.Of("--addjob", "queue CMD (run as /bin/sh -c CMD); prints the job's UUID", FlagValues.Text("'CMD'"));
    public static readonly Flag<string> CheckJob = Flag.Of("--checkjob", "the job's state and details", FlagValues.Text("UUID"));
    public static readonly Flag<string> RemoveJob = Flag.Of("--removejob", "cancel a queued or running job; delete a finished one", FlagValues.Text("UUID"));
    public static readonly Flag<bool> ListJobs = Flag.Switch("--listjobs", "jobs, newest first");
    public static readonly Flag<string> Output = Flag.Of("--output", "the job's captured stdout", FlagValues.Text("UUID"));
    public static readonly Flag<bool> Nodes = Flag.Switch("--nodes", "live nodes, which is prime, slots used/free");
    public static readonly Flag<bool> Dashboard = Flag.Switch("--dashboard", "a link that opens the node's web dashboard signed in as you, for an hour");
    public static readonly Flag<string> Download = Flag.Of("--download", "the artifacts a finished job left (--artifact), into --to", FlagValues.Text("UUID"));
    public static readonly Flag<bool> Help = Flag.Switch("--help", "this text", "-h");
    public static readonly Flag<bool> Version = Flag.Switch("--version", "lclusterc's version");

    public static readonly Flag<string> Name = Flag.Of("--name", "a name for the job (with --listjobs: only jobs of that name)", FlagValues.Text("NAME"));
    public static readonly Flag<long> Memory = Flag.Of("--memory", "memory limit, e.g. 64M, 2G", FlagValues.Bytes);
    public static readonly Flag<double> Cpus = Flag.Of("--cpus", "CPU limit in cores, e.g. 0.5", FlagValues.Cores);
    public static readonly Flag<int> Pids = Flag.Of("--pids", "most processes and threads at once", FlagValues.WholeNumber(1, int.MaxValue));
    public static readonly Flag<double> Time = Flag.Of("--time", "wall-clock limit, e.g. 10s, 5m, 1h30m", FlagValues.PositiveDuration);
    public static readonly Flag<long> Disk = Flag.Of("--disk", "what the job may write to its root filesystem, e.g. 1G (held in memory: counts in --memory)", FlagValues.Bytes);

    public static readonly Flag<ArrayRange?> Array = Flag.Of("--array",
        $"one job per index of FIRST-LAST (at most {RequestBounds.MaxArrayTasks}); each gets LCLUSTER_ARRAY_INDEX",
        new FlagValue<ArrayRange?>("FIRST-LAST", ReadArray, a => a is null ? "" : $"{a.First}-{a.Last}"), null, "one job");

    public static readonly Flag<IReadOnlyList<KeyValuePair<string, string>>> Env =
        Flag.Repeated("--env", "environment variable (repeatable)", new FlagValue<KeyValuePair<string, string>>("K=V", ReadVariable, v => $"{v.Key}={v.Value}"));

    public static readonly Flag<string> Stdin = Flag.Of("--stdin",
        $"feed FILE (or this program's stdin, -) to the job, {Units.FormatBytes(RequestBounds.MaxStdinBytes)} at most", FlagValues.Text("FILE|-"));

    public static readonly Flag<IReadOnlyList<string>> Input = Flag.Repeated("--input",
        $"put PATH (a file, or a directory and all below it) into the job's {FilePaths.Work}/, its working directory (repeatable)", FlagValues.Text("PATH"));

    public static readonly Flag<IReadOnlyList<string>> Artifact = Flag.Repeated("--artifact",
        $"collect PATH or GLOB (relative to {FilePaths.Work}) when the job ends, for --download (repeatable)", FlagValues.Text("PATH"));

    public static readonly Flag<string?> To = Flag.Of("--to", "where the files go (made if missing; files there with the same names are replaced)",
        new FlagValue<string?>("DIR", path => path, path => path ?? ""), null, "./UUID");

    public static readonly Flag<int> Retries = Flag.Of("--retries",
        $"run again (up to N times, at most {RequestBounds.MaxRetries}) if its node dies under it", FlagValues.WholeNumber(0, RequestBounds.MaxRetries), 0);

    public static readonly Flag<int> Priority = Flag.Of("--priority",
        $"higher runs first, from {-RequestBounds.MaxPriority} to {RequestBounds.MaxPriority}",
        FlagValues.WholeNumber(-RequestBounds.MaxPriority, RequestBounds.MaxPriority), 0);

    public static readonly Flag<bool> Wait = Flag.Switch("--wait", "wait for the end, copy its stdout/stderr, exit with its exit code");
    public static readonly Flag<bool> Json = Flag.Switch("--json", "machine-readable output");

    public static readonly Flag<JobState> State = Flag.Of("--state",
        $"only jobs in STATE ({string.Join(", ", JobStates.All.Select(JobStates.Name))})",
        new FlagValue<JobState>("STATE", ReadState, JobStates.Name));

    public static readonly Flag<int> Limit = Flag.Of("--limit", "at most N jobs", FlagValues.WholeNumber(1, MaxListed), 0, "the newest 1000");
    public static readonly Flag<string> Owner = Flag.Of("--owner", "only jobs of USER (an admin's option: a user sees only their own)", FlagValues.Text("USER"));
    public static readonly Flag<bool> Watch = Flag.Switch("--watch", "then print every change of the jobs as it happens, until interrupted");
    public static readonly Flag<bool> Stderr = Flag.Switch("--stderr", "stderr instead of stdout");
    public static readonly Flag<bool> Follow = Flag.Switch("--follow", "stream until the job ends");

    public static readonly Flag<string> Server = Flag.Of("--server", "the node to talk to: unix:PATH, or HOST:PORT (mutual TLS with --cert)",
        FlagValues.Text("ADDRESS"), NodeChannel.UnixScheme + NodeChannel.DefaultSocket,
        $"${ServerVariable}, else the local node's socket, {NodeChannel.UnixScheme}{NodeChannel.DefaultSocket}");

    public static readonly Flag<string?> CaCert = Flag.Of("--cacert", "the cluster's CA, to check a node's certificate (HOST:PORT servers)",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, $"${CaVariable}");

    public static readonly Flag<string?> Cert = Flag.Of("--cert", "your certificate (`lclusterd ca user`): who you are to a node over TCP",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, $"${CertVariable}");

    public static readonly Flag<string?> Key = Flag.Of("--key", "the key of --cert",
        new FlagValue<string?>("FILE", path => path, path => path ?? ""), null, $"${KeyVariable}");

    /// <summary>Each command and the options it takes; --server goes with any.</summary>
    public static readonly IReadOnlyList<CommandFlag> Commands =
    [
        new(Verb.AddJob, AddJob, [Name, Memory, Cpus, Pids, Time, Disk, Env, Stdin, Input, Artifact, Retries, Priority, Array, Wait]),
        new(Verb.CheckJob, CheckJob, [Json]),
        new(Verb.RemoveJob, RemoveJob, []),
        new(Verb.ListJobs, ListJobs, [Json, State, Limit, Owner, Name, Watch]),
        new(Verb.Output, Output, [Stderr, Follow]),
        new(Verb.Download, Download, [To]),
        new(Verb.Nodes, Nodes, [Json]),
        new(Verb.Dashboard, Dashboard, []),
        new(Verb.Help, Help, []),
        new(Verb.Version, Version, []),
    ];

    /// <summary>Options that go with every command.</summary>
    public static readonly IReadOnlyList<Flag> Anywhere = [Server, CaCert, Cert, Key];

    /// <summary>Every flag, commands first, each once.</summary>
    public static readonly FlagSet All = new("lclusterc",
        Commands.Select(c => c.Flag).Concat(Commands.SelectMany(c => c.Options)).Concat(Anywhere).Distinct().ToList());

    private static KeyValuePair<string, string> ReadVariable(string text)
    {
        var eq = text.IndexOf('=');
        return eq > 0 ? new(text[..eq], text[(eq + 1)..]) : throw new UsageException($"'{text}' is not KEY=VALUE");
    }

    private static ArrayRange? ReadArray(string text)
    {
        var dash = text.IndexOf('-', 1);
        var (first, last) = dash < 0 ? (text, text) : (text[..dash], text[(dash + 1)..]);
        return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
               && int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var b)
               && b >= a && (long)b - a < RequestBounds.MaxArrayTasks
            ? new ArrayRange { First = a, Last = b }
            : throw new UsageException($"'{text}' is not FIRST-LAST of at most {RequestBounds.MaxArrayTasks} indexes, like 1-100");
    }

    private static JobState ReadState(string text)
    {
        var name = text.Trim().ToLower(CultureInfo.InvariantCulture);
        return JobStates.All.FirstOrDefault(s => JobStates.Name(s) == name) is var state && state != JobState.Unspecified
            ? state
            : throw new UsageException($"'{text}' is not a job state; use one of {string.Join(", ", JobStates.All.Select(JobStates.Name))}");
    }
}
