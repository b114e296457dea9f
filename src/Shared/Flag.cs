using System.CommandLine;
using System.CommandLine.Parsing;

namespace Lcluster.Shared;

/// <summary>
/// One flag of lclusterc or lclusterd: the System.CommandLine option it is parsed as (its name, value name and
/// what it does) and the default that --help shows. The parser, the checks and the help text all read this one
/// definition, so nothing about a flag is written twice.
/// </summary>
internal abstract class Flag
{
    /// <summary>The option System.CommandLine matches on the command line.</summary>
    public abstract Option Option { get; }

    /// <summary>"--memory".</summary>
    public string Name => Option.Name;

    /// <summary>The name and every alias, as a user may type them.</summary>
    public IEnumerable<string> Names => Option.Aliases.Prepend(Option.Name);

    public string Description => Option.Description ?? "";

    /// <summary>What help writes after '=': SIZE, UUID; null for a switch, which takes no value.</summary>
    public string? ValueName => Option.HelpName;

    public bool IsSwitch => ValueName is null;

    /// <summary>May be given more than once, each time adding a value (like --env).</summary>
    public bool Repeatable { get; private init; }

    /// <summary>What help shows as the default in place of the value's own spelling of it.</summary>
    public string? ShownDefault { get; private init; }

    /// <summary>The default as help shows it; null when help shows none.</summary>
    public abstract string? DefaultText { get; }

    /// <summary>How help and messages spell it: "--memory=SIZE", "--wait".</summary>
    public string Spelling => IsSwitch ? Name : $"{Name}={ValueName}";

    /// <summary>A flag that takes no value: true when given, false when not.</summary>
    public static Flag<bool> Switch(string name, string description, params string[] aliases) =>
        new(new Option<bool>(name, aliases) { Description = description, Arity = ArgumentArity.Zero }, null, false, hasDefault: false);

    /// <summary>A flag given at most once, read as <paramref name="value"/> says; when absent, <see cref="Flag{T}.Default"/> is the type's default.</summary>
    public static Flag<T> Of<T>(string name, string description, FlagValue<T> value) =>
        new(Single(name, description, value, default!), value, default!, hasDefault: false);

    /// <summary>
    /// A flag given at most once; when absent its value is <paramref name="default"/>, which help shows as
    /// <paramref name="shownDefault"/> when the value's own spelling would not say enough ("the listen address").
    /// </summary>
    public static Flag<T> Of<T>(string name, string description, FlagValue<T> value, T @default, string? shownDefault = null) =>
        new(Single(name, description, value, @default), value, @default, hasDefault: true) { ShownDefault = shownDefault };

    /// <summary>A flag that may be given many times; its value is every one given, in order (none when absent).</summary>
    public static Flag<IReadOnlyList<T>> Repeated<T>(string name, string description, FlagValue<T> value)
    {
        var option = new Option<IReadOnlyList<T>>(name)
        {
            Description = description,
            HelpName = value.Name,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
        };
        option.CustomParser = result => Read(result, name, tokens => tokens.Select(t => value.Read(t.Value)).ToList(), []);
        return new Flag<IReadOnlyList<T>>(option, null, [], hasDefault: false) { Repeatable = true };
    }

    private static Option<T> Single<T>(string name, string description, FlagValue<T> value, T @default)
    {
        var option = new Option<T>(name) { Description = description, HelpName = value.Name, DefaultValueFactory = _ => @default };
        option.CustomParser = result => Read(result, name, tokens => value.Read(tokens[^1].Value), @default);
        return option;
    }

    /// <summary>Runs a reader inside System.CommandLine: what it refuses becomes a parse error that names the flag.</summary>
    private static T Read<T>(ArgumentResult result, string name, Func<IReadOnlyList<Token>, T> read, T fallback)
    {
        // A missing value is FlagSet's to report, with the flag's spelling.
        if (result.Tokens.Count == 0 || result.Tokens.Any(t => t.Value.Length == 0))
            return fallback;
        try
        {
            return read(result.Tokens);
        }
        catch (UsageException e)
        {
            result.AddError($"{name}: {e.Message}");
            return fallback;
        }
    }
}

/// <summary>A flag whose value is a <typeparamref name="T"/>.</summary>
internal sealed class Flag<T> : Flag
{
    private readonly FlagValue<T>? _value;
    private readonly bool _hasDefault;

    internal Flag(Option<T> option, FlagValue<T>? value, T @default, bool hasDefault)
    {
        Typed = option;
        _value = value;
        Default = @default;
        _hasDefault = hasDefault;
    }

    /// <summary>The option with its type, for reading the parsed value.</summary>
    public Option<T> Typed { get; }

    public override Option Option => Typed;

    /// <summary>The value when the flag is not given.</summary>
    public T Default { get; }

    public override string? DefaultText =>
        ShownDefault ?? (_hasDefault && _value is not null ? _value.Show(Default) : null);
}

/// <summary>
/// A kind of flag value: the name help gives it (SIZE, N, DURATION), how text is read into it — throwing
/// <see cref="UsageException"/> with what is wrong and what to write instead — and how a value is shown back.
/// </summary>
internal sealed record FlagValue<T>(string Name, Func<string, T> Read, Func<T, string> Show);
