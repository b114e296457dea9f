using Lcluster.Shared;

namespace Lcluster.Client;

/// <summary>lclusterc --help, made from <see cref="ClientFlags"/>: every flag, what it does, its bounds and default.</summary>
internal static class Usage
{
    public static string Text()
    {
        var addJob = ClientFlags.Commands.Single(c => c.Verb == Verb.AddJob);
        var others = ClientFlags.Commands.SelectMany(c => c.Options).Concat(ClientFlags.Anywhere).Distinct().Except(addJob.Options).ToList();
        var column = FlagHelp.Column(ClientFlags.All.Flags);
        return $"""
            usage: lclusterc COMMAND [OPTIONS]

            Commands:
            {FlagHelp.Rows(ClientFlags.Commands.Select(c => c.Flag).ToList(), column: column)}
            Options of {addJob.Flag.Name}:
            {FlagHelp.Rows(addJob.Options, column: column)}
            Other options:
            {FlagHelp.Rows(others, WithCommands, column)}
            Exit codes: {ExitCodes.Ok} ok, {ExitCodes.Failed} refused or failed, {ExitCodes.Usage} usage, {ExitCodes.NoSuchJob} no such job, {ExitCodes.Unreachable} cannot reach
            the server; with {ClientFlags.Wait.Name}, the job's exit code (128+N when killed by signal N).

            """;
    }

    /// <summary>"with --listjobs: at most N jobs": the commands an option goes with, from the same table the parser checks.</summary>
    private static string WithCommands(Flag option)
    {
        var commands = ClientFlags.Commands.Where(c => c.Options.Contains(option)).Select(c => c.Flag.Name).ToList();
        var description = FlagHelp.Describe(option);
        return commands.Count == 0 ? description : $"with {string.Join(", ", commands)}: {description}";
    }
}
