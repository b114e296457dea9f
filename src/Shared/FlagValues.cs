using System.Globalization;

namespace Lcluster.Shared;

/// <summary>
/// The kinds of flag value both programs take — sizes, durations, cores, bounded whole numbers — read the same
/// way in both and shown back in a spelling the flag accepts.
/// </summary>
internal static class FlagValues
{
    /// <summary>Any text; an empty value is refused before it gets here.</summary>
    public static FlagValue<string> Text(string name) => new(name, text => text, text => text);

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static FlagValue<int> WholeNumber(int min, int max) => new(
        "N",
        text => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new UsageException($"'{text}' is not a whole number from {min} to {max}"),
        n => n.ToString(CultureInfo.InvariantCulture));

    /// <summary>Bytes from "4096", "64M", "1.5GiB" (binary multiples).</summary>
    public static readonly FlagValue<long> Bytes = new(
        "SIZE",
        text => Units.TryParseBytes(text, out var bytes, out var error) ? bytes : throw new UsageException(error),
        Units.FormatBytes);

    /// <summary>Seconds from "90", "90s", "1h30m"; zero is allowed and means "none" where a flag says so.</summary>
    public static readonly FlagValue<double> Duration = new(
        "DURATION",
        text => Units.TryParseSeconds(text, out var seconds, out var error) ? seconds : throw new UsageException(error),
        Units.FormatDuration);

    /// <summary>Like <see cref="Duration"/>, but more than zero.</summary>
    public static readonly FlagValue<double> PositiveDuration = Duration with
    {
        Read = text => Duration.Read(text) is > 0 and var seconds ? seconds : throw new UsageException($"'{text}' must be more than zero"),
    };

    /// <summary>CPU cores, fractions allowed: "0.5", "2".</summary>
    public static readonly FlagValue<double> Cores = new(
        "N",
        text => double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cores) && cores > 0
            ? cores
            : throw new UsageException($"'{text}' is not a positive number of cores, like 0.5 or 2"),
        cores => cores.ToString(CultureInfo.InvariantCulture));
}
