using Lcluster.Shared;

namespace Lcluster.Daemon.Security;

/// <summary>`lclusterd ca init|node|user …`: its flags, and running it.</summary>
internal static class CaFlags
{
    public const string Verb = "ca";

    public static readonly Flag<string> Dir = Flag.Of("--dir", "the CA's directory (ca.crt, ca.key; issued certificates below it)", FlagValues.Text("DIR"));

    public static readonly Flag<string?> Name = Flag.Of("--name", "the node's name (its --node-name), or the user's name",
        new FlagValue<string?>("NAME", name => name, name => name ?? ""), null, "for init: lcluster");

    public static readonly Flag<IReadOnlyList<string>> Address = Flag.Of("--address", "a node's addresses, as others dial it (its --advertise host)",
        new FlagValue<IReadOnlyList<string>>("ADDR[,ADDR...]", text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            addresses => string.Join(",", addresses)), []);

    public static readonly Flag<bool> Admin = Flag.Switch("--admin", "a user certificate that may act on every job");

    private static readonly FlagSet All = new("lclusterd-ca", [Dir, Name, Address, Admin]);

    public static string Usage => $"""
        usage: lclusterd ca init --dir=DIR [--name=NAME]          a cluster's CA
               lclusterd ca node --dir=DIR --name=NODE --address=ADDR[,ADDR...]
                                                                 a node's certificate (server and client)
               lclusterd ca user --dir=DIR --name=USER [--admin]  a user's client certificate

        {FlagHelp.Rows(All.Flags)}
        """;

    /// <summary>Runs `ca` with the arguments after it; UsageException for a bad command line.</summary>
    public static void Run(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count == 0 || args[0] is not ("init" or "node" or "user"))
            throw new UsageException($"give what to make: lclusterd ca init, ca node or ca user (see lclusterd ca --help)");
        var flags = All.Parse(args.Skip(1).ToList());
        var dir = Path.GetFullPath(flags.Require(Dir));
        string NameOf(string what) => flags.Get(Name) ?? throw new UsageException($"{Name.Name} is required: the {what}'s name");
        try
        {
            switch (args[0])
            {
                case "init":
                    CaCommand.Init(dir, flags.Get(Name) ?? "lcluster", output);
                    break;
                case "node":
                    CaCommand.Node(dir, NameOf("node"), flags.Get(Address), output);
                    break;
                default:
                    CaCommand.User(dir, NameOf("user"), flags.Has(Admin), output);
                    break;
            }
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
