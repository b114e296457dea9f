using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Client;

internal sealed record Invocation(Verb Verb, string Server, bool Json)
{
    /// <summary>TLS to a HOST:PORT server: the cluster CA, and the user's certificate and key.</summary>
    public (string Ca, string Cert, string Key)? Tls { get; init; }
    public string? Owner { get; init; }
    public string? NameFilter { get; init; }
    public bool Watch { get; init; }
    public string JobId { get; init; } = "";
    public AddJobRequest AddJob { get; init; } = new();
    public string? StdinFile { get; init; }
    public bool Wait { get; init; }
    public JobState StateFilter { get; init; }
    public int Limit { get; init; }
    public bool Stderr { get; init; }
    public bool Follow { get; init; }
    /// <summary>--input paths, as given.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];
    /// <summary>--to of --download; null: ./UUID.</summary>
    public string? To { get; init; }
}

/// <summary>
/// Turns lclusterc's arguments into an <see cref="Invocation"/> (docs/spec.md, "lclusterc"): the flags of
/// <see cref="ClientFlags"/>, exactly one command flag per call, and each option only with a command that takes it.
/// </summary>
internal static class CommandLine
{
    public static Invocation Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var serverFromEnvironment = environment(ClientFlags.ServerVariable);
        var flags = ClientFlags.All.Parse(args);
        var commands = flags.Given.SelectMany(f => ClientFlags.Commands.Where(c => c.Flag == f)).ToList();
        if (commands.Count == 0)
            throw new UsageException($"no command: give one of {string.Join(", ", ClientFlags.Commands.Where(c => c.Verb is not (Verb.Help or Verb.Version)).Select(c => c.Flag.Name))}");
        if (commands.Count > 1)
            throw new UsageException($"one command at a time, not {string.Join(" and ", commands.Select(c => c.Flag.Name))}");
        var command = commands[0];
        foreach (var flag in flags.Given)
        {
            if (flag != command.Flag && !command.Options.Contains(flag) && !ClientFlags.Anywhere.Contains(flag))
                throw new UsageException($"{flag.Name} does not go with {command.Flag.Name}");
        }

        var server = flags.Has(ClientFlags.Server) || string.IsNullOrWhiteSpace(serverFromEnvironment)
            ? flags.Get(ClientFlags.Server)
            : serverFromEnvironment;
        // Certificates are for a HOST:PORT server; the local socket's caller is who the kernel says.
        var tls = server.StartsWith(NodeChannel.UnixScheme, StringComparison.Ordinal) ? null : TlsFiles(flags, environment);
        var invocation = new Invocation(command.Verb, server, flags.Get(ClientFlags.Json)) { Tls = tls };
        return command.Verb switch
        {
            Verb.AddJob => invocation with
            {
                AddJob = AddJobRequest(flags),
                StdinFile = flags.Has(ClientFlags.Stdin) ? flags.Get(ClientFlags.Stdin) : null,
                Wait = flags.Get(ClientFlags.Wait),
                Inputs = flags.Get(ClientFlags.Input),
            },
            Verb.Download => invocation with { JobId = flags.Get(ClientFlags.Download), To = flags.Get(ClientFlags.To) },
            Verb.CheckJob => invocation with { JobId = flags.Get(ClientFlags.CheckJob) },
            Verb.RemoveJob => invocation with { JobId = flags.Get(ClientFlags.RemoveJob) },
            Verb.Output => invocation with
            {
                JobId = flags.Get(ClientFlags.Output),
                Stderr = flags.Get(ClientFlags.Stderr),
                Follow = flags.Get(ClientFlags.Follow),
            },
            Verb.ListJobs => invocation with
            {
                StateFilter = flags.Get(ClientFlags.State),
                Limit = flags.Get(ClientFlags.Limit),
                Owner = flags.Has(ClientFlags.Owner) ? flags.Get(ClientFlags.Owner) : null,
                NameFilter = flags.Has(ClientFlags.Name) ? flags.Get(ClientFlags.Name) : null,
                Watch = flags.Get(ClientFlags.Watch),
            },
            _ => invocation,
        };
    }

    /// <summary>The TLS files from the flags, else from the environment; all three or none.</summary>
    private static (string, string, string)? TlsFiles(ParsedFlags flags, Func<string, string?> environment)
    {
        string? Pick(Flag<string?> flag, string variable) => flags.Get(flag) ?? (string.IsNullOrWhiteSpace(environment(variable)) ? null : environment(variable));
        var (ca, cert, key) = (Pick(ClientFlags.CaCert, ClientFlags.CaVariable), Pick(ClientFlags.Cert, ClientFlags.CertVariable), Pick(ClientFlags.Key, ClientFlags.KeyVariable));
        if (ca is null && cert is null && key is null)
            return null;
        if (ca is null || cert is null || key is null)
            throw new UsageException($"{ClientFlags.CaCert.Name}, {ClientFlags.Cert.Name} and {ClientFlags.Key.Name} go together (or ${ClientFlags.CaVariable}, ${ClientFlags.CertVariable}, ${ClientFlags.KeyVariable})");
        return (ca, cert, key);
    }

    /// <summary>The request --addjob and its options make; a limit left out stays 0, which the node fills with its default.</summary>
    private static AddJobRequest AddJobRequest(ParsedFlags flags)
    {
        var request = new AddJobRequest
        {
            Command = flags.Get(ClientFlags.AddJob),
            Name = flags.Get(ClientFlags.Name) ?? "",
            Limits = new Limits
            {
                MemoryBytes = flags.Get(ClientFlags.Memory),
                Cpus = flags.Get(ClientFlags.Cpus),
                Pids = flags.Get(ClientFlags.Pids),
                TimeSeconds = flags.Get(ClientFlags.Time),
                DiskBytes = flags.Get(ClientFlags.Disk),
            },
            Retries = flags.Get(ClientFlags.Retries),
            Priority = flags.Get(ClientFlags.Priority),
            Array = flags.Get(ClientFlags.Array),
        };
        foreach (var (key, value) in flags.Get(ClientFlags.Env))
            request.Env[key] = value;
        request.Artifacts.AddRange(FilePaths.CheckPatterns(flags.Get(ClientFlags.Artifact), why => new UsageException($"{ClientFlags.Artifact.Name}: {why}")));
        return request;
    }
}
