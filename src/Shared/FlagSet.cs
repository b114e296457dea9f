using System.CommandLine;
using System.CommandLine.Parsing;

namespace Lcluster.Shared;

/// <summary>
/// A program's flags, parsed by System.CommandLine under lcluster's rules: --flag=VALUE or --flag VALUE, no
/// positional arguments, each flag once unless it is repeatable, an empty value is a missing one. Every refusal
/// is a <see cref="UsageException"/> in lcluster's words, naming the flag.
/// </summary>
internal sealed class FlagSet
{
    // No @file expansion and no -abc bundling: every argument means what it says.
    private static readonly ParserConfiguration Configuration = new() { EnablePosixBundling = false, ResponseFileTokenReplacer = null };

    private readonly Command _command;
    private readonly Dictionary<string, Flag> _byName = new(StringComparer.Ordinal);

    public FlagSet(string program, IReadOnlyList<Flag> flags)
    {
        Flags = flags;
        _command = new Command(program);
        foreach (var flag in flags)
        {
            _command.Options.Add(flag.Option);
            foreach (var name in flag.Names)
                _byName.Add(name, flag);
        }
    }

    public IReadOnlyList<Flag> Flags { get; }

    public ParsedFlags Parse(IReadOnlyList<string> args)
    {
        // System.CommandLine reads "--flag=" as "--flag" (and would take the next argument as its value), and "--" as
        // the end of flags: neither means anything here.
        foreach (var arg in args)
        {
            if (arg.EndsWith('=') && _byName.TryGetValue(arg[..^1], out var emptied))
                throw emptied.IsSwitch ? new UsageException($"{emptied.Name} takes no value") : Missing(emptied);
            if (arg == "--")
                throw new UsageException("unexpected argument '--'");
        }
        var result = _command.Parse(args, Configuration);
        if (result.UnmatchedTokens.Count > 0)
            throw new UsageException(Unmatched(result.UnmatchedTokens[0], args));

        var given = new List<Flag>();
        foreach (var token in result.Tokens)
        {
            if (token.Type == TokenType.Option && _byName.TryGetValue(token.Value, out var flag) && !given.Contains(flag))
                given.Add(flag);
        }
        foreach (var flag in given)
        {
            var found = result.GetResult(flag.Option)!;
            if (found.IdentifierTokenCount > 1 && !flag.Repeatable)
                throw new UsageException($"{flag.Name} given twice");
            if (!flag.IsSwitch && (found.Tokens.Count < found.IdentifierTokenCount || found.Tokens.Any(t => t.Value.Length == 0)))
                throw Missing(flag);
        }
        // A bad value is reported when the program reads it, after its own checks of which flags go together.
        var badValues = new Dictionary<Flag, string>();
        foreach (var error in result.Errors)
        {
            if (error.SymbolResult is not OptionResult { Option: var option } || !given.Exists(f => f.Option == option))
                throw new UsageException(error.Message);
            badValues.TryAdd(given.Find(f => f.Option == option)!, error.Message);
        }
        return new ParsedFlags(result, given, badValues);
    }

    private static UsageException Missing(Flag flag) => new($"{flag.Name} needs a value: {flag.Spelling}");

    /// <summary>Why an argument no flag took is wrong: a value given to a switch, an unknown flag, or a stray word.</summary>
    private string Unmatched(string token, IReadOnlyList<string> args)
    {
        foreach (var arg in args)
        {
            if (arg.EndsWith("=" + token, StringComparison.Ordinal) && _byName.TryGetValue(arg[..^(token.Length + 1)], out var flag) && flag.IsSwitch)
                return $"{flag.Name} takes no value";
        }
        if (token.StartsWith('-') && token.Length > 1)
            return $"unknown flag '{token.Split('=')[0]}'";
        return $"unexpected argument '{token}'";
    }
}

/// <summary>What a command line said: the flags given, in order, and each flag's value (its default when not given).</summary>
internal sealed class ParsedFlags(ParseResult result, IReadOnlyList<Flag> given, IReadOnlyDictionary<Flag, string> badValues)
{
    /// <summary>The flags on the command line in the order first given.</summary>
    public IReadOnlyList<Flag> Given => given;

    public bool Has(Flag flag) => given.Contains(flag);

    /// <summary>The flag's value; a <see cref="UsageException"/> saying what is wrong with it when it could not be read.</summary>
    public T Get<T>(Flag<T> flag) =>
        badValues.TryGetValue(flag, out var message) ? throw new UsageException(message) : result.GetValue(flag.Typed)!;

    /// <summary>The value of a flag the program cannot run without.</summary>
    public T Require<T>(Flag<T> flag) =>
        Has(flag) ? Get(flag) : throw new UsageException($"{flag.Name} is required: {flag.Description}");
}
