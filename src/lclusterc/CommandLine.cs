using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

/// <summary>What the user asked for, parsed from the command line.</summary>
internal enum Verb { AddJob, CheckJob, RemoveJob, ListJobs, Output, Nodes, Help, Version }

internal sealed record Invocation(Verb Verb, string Server, bool Json)
{
    public string JobId { get; init; } = "";
    public AddJobRequest AddJob { get; init; } = new();
    public string? StdinFile { get; init; }
    public bool Wait { get; init; }
    public JobState StateFilter { get; init; }
    public int Limit { get; init; }
    public bool Stderr { get; init; }
    public bool Follow { get; init; }
}

/// <summary>A usage error: exit code 2, the message and a hint on stderr.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parses lclusterc's flags (docs/spec.md §1). Flags take their value as --flag=VALUE
/// or --flag VALUE; exactly one command flag per call.
/// </summary>
internal static class CommandLine
{
    private static readonly Dictionary<string, Verb> Commands = new()
    {
        ["--addjob"] = Verb.AddJob,
        ["--checkjob"] = Verb.CheckJob,
        ["--removejob"] = Verb.RemoveJob,
        ["--listjobs"] = Verb.ListJobs,
        ["--output"] = Verb.Output,
        ["--nodes"] = Verb.Nodes,
        ["--help"] = Verb.Help,
        ["-h"] = Verb.Help,
        ["--version"] = Verb.Version,
    };

    private static readonly HashSet<string> ValueFlags =
    [
        "--addjob", "--checkjob", "--removejob", "--output", "--server", "--name", "--memory", "--cpus",
        "--pids", "--time", "--env", "--stdin", "--retries", "--priority", "--state", "--limit",
    ];

    private static readonly HashSet<string> SwitchFlags = ["--listjobs", "--nodes", "--json", "--wait", "--stderr", "--follow", "--help", "-h", "--version"];

    private static readonly Dictionary<Verb, HashSet<string>> AllowedOptions = new()
    {
        [Verb.AddJob] = ["--name", "--memory", "--cpus", "--pids", "--time", "--env", "--stdin", "--retries", "--priority", "--wait"],
        [Verb.CheckJob] = ["--json"],
        [Verb.RemoveJob] = [],
        [Verb.ListJobs] = ["--json", "--state", "--limit"],
        [Verb.Output] = ["--stderr", "--follow"],
        [Verb.Nodes] = ["--json"],
        [Verb.Help] = [],
        [Verb.Version] = [],
    };

    public static Invocation Parse(IReadOnlyList<string> args, string? serverFromEnvironment)
    {
        var flags = new List<(string Name, string? Value)>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-'))
                throw new UsageException($"unexpected argument '{arg}'");
            var eq = arg.IndexOf('=');
            var name = eq >= 0 ? arg[..eq] : arg;
            if (ValueFlags.Contains(name))
            {
                string value;
                if (eq >= 0)
                    value = arg[(eq + 1)..];
                else if (i + 1 < args.Count)
                    value = args[++i];
                else
                    throw new UsageException($"{name} needs a value");
                flags.Add((name, value));
            }
            else if (SwitchFlags.Contains(name))
            {
                if (eq >= 0)
                    throw new UsageException($"{name} takes no value");
                flags.Add((name, null));
            }
            else
            {
                throw new UsageException($"unknown flag '{name}'");
            }
        }

        var commands = flags.Where(f => Commands.ContainsKey(f.Name)).ToList();
        if (commands.Count == 0)
            throw new UsageException("no command: give one of --addjob, --checkjob, --removejob, --listjobs, --output, --nodes");
        if (commands.Select(c => c.Name).Distinct().Count() > 1 || commands.Count > 1)
            throw new UsageException($"one command at a time, not {string.Join(" and ", commands.Select(c => c.Name).Distinct())}");
        var verb = Commands[commands[0].Name];
        foreach (var (name, _) in flags)
        {
            if (Commands.ContainsKey(name) || name == "--server")
                continue;
            if (!AllowedOptions[verb].Contains(name))
                throw new UsageException($"{name} does not go with {commands[0].Name}");
            if (name != "--env" && flags.Count(f => f.Name == name) > 1)
                throw new UsageException($"{name} given twice");
        }

        string? Get(string name) => flags.LastOrDefault(f => f.Name == name).Value;
        bool Has(string name) => flags.Any(f => f.Name == name);

        var server = Get("--server") ?? (string.IsNullOrWhiteSpace(serverFromEnvironment) ? NodeChannel.DefaultAddress : serverFromEnvironment);
        if (server.Length == 0)
            throw new UsageException("--server is empty: give HOST:PORT");
        var invocation = new Invocation(verb, server, Has("--json"));
        var target = commands[0].Value ?? "";
        return verb switch
        {
            Verb.AddJob => ParseAddJob(invocation, target, flags, Get, Has),
            Verb.CheckJob or Verb.RemoveJob or Verb.Output => invocation with
            {
                JobId = NonEmpty(commands[0].Name, target),
                Stderr = Has("--stderr"),
                Follow = Has("--follow"),
            },
            Verb.ListJobs => invocation with
            {
                StateFilter = Get("--state") is { } state ? ParseState(state) : JobState.Unspecified,
                Limit = Get("--limit") is { } limit ? ParseInt("--limit", limit, 1, 100_000) : 0,
            },
            _ => invocation,
        };
    }

    private static Invocation ParseAddJob(Invocation invocation, string command, List<(string Name, string? Value)> flags,
        Func<string, string?> get, Func<string, bool> has)
    {
        if (command.Length == 0)
            throw new UsageException("--addjob needs a command, e.g. --addjob='echo hello'");
        var request = new AddJobRequest { Command = command, Name = get("--name") ?? "", Limits = new Limits() };
        if (get("--memory") is { } memory)
        {
            if (!Units.TryParseBytes(memory, out var bytes, out var error))
                throw new UsageException($"--memory: {error}");
            request.Limits.MemoryBytes = bytes;
        }
        if (get("--cpus") is { } cpus)
        {
            if (!double.TryParse(cpus, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
                throw new UsageException($"--cpus: '{cpus}' is not a positive number of cores, like 0.5 or 2");
            request.Limits.Cpus = value;
        }
        if (get("--pids") is { } pids)
            request.Limits.Pids = ParseInt("--pids", pids, 1, int.MaxValue);
        if (get("--time") is { } time)
        {
            if (!Units.TryParseSeconds(time, out var seconds, out var error) || seconds <= 0)
                throw new UsageException($"--time: {(error.Length > 0 ? error : $"'{time}' must be more than zero")}");
            request.Limits.TimeSeconds = seconds;
        }
        if (get("--retries") is { } retries)
            request.Retries = ParseInt("--retries", retries, 0, 100);
        if (get("--priority") is { } priority)
            request.Priority = ParseInt("--priority", priority, -1_000_000, 1_000_000);
        foreach (var (name, value) in flags)
        {
            if (name != "--env")
                continue;
            var eq = value!.IndexOf('=');
            if (eq <= 0)
                throw new UsageException($"--env: '{value}' is not KEY=VALUE");
            request.Env[value[..eq]] = value[(eq + 1)..];
        }
        return invocation with { AddJob = request, StdinFile = get("--stdin"), Wait = has("--wait") };
    }

    private static JobState ParseState(string text)
    {
        var wanted = "JOB_STATE_" + text.Trim().ToUpperInvariant();
        foreach (var state in Enum.GetValues<JobState>())
        {
            if (state != JobState.Unspecified && JobStates.ProtoName(state) == wanted)
                return state;
        }
        throw new UsageException($"--state: '{text}' is not a job state; use one of {string.Join(", ", JobStates.All.Select(JobStates.Name))}");
    }

    private static int ParseInt(string flag, string text, int min, int max)
    {
        if (!int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new UsageException($"{flag}: '{text}' is not a whole number from {min} to {max}");
        return value;
    }

    private static string NonEmpty(string flag, string value) =>
        value.Length > 0 ? value : throw new UsageException($"{flag} needs a job id");
}
