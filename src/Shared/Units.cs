using System.Globalization;
using System.Text.RegularExpressions;

namespace Lcluster.Shared;

/// <summary>
/// Sizes and durations as people write them on a command line ("64M",
/// "1.5g", "90s", "1h30m") and as we print them back. Compiled into both
/// programs (lclusterd's flags, lclusterc's options), so both read a value
/// the same way.
/// </summary>
internal static partial class Units
{
    private const double MaxBytes = long.MaxValue;

    /// <summary>Bytes from "4096", "64k", "64M", "1.5GiB", "2g" (binary multiples, like Docker).</summary>
    public static bool TryParseBytes(string text, out long bytes, out string error)
    {
        bytes = 0;
        var m = BytesPattern().Match(text.Trim());
        if (!m.Success)
        {
            error = $"'{text}' is not a size: write a number with an optional unit, like 512M or 2G";
            return false;
        }
        var number = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var multiplier = char.ToLowerInvariant(m.Groups[2].Value.FirstOrDefault('b')) switch
        {
            'k' => 1024d,
            'm' => 1024d * 1024,
            'g' => 1024d * 1024 * 1024,
            't' => 1024d * 1024 * 1024 * 1024,
            _ => 1d,
        };
        var value = Math.Round(number * multiplier);
        if (value > MaxBytes)
        {
            error = $"'{text}' is too large";
            return false;
        }
        bytes = (long)value;
        error = "";
        return true;
    }

    /// <summary>Seconds from "90", "90s", "1.5m", "1h30m", "250ms", "2d".</summary>
    public static bool TryParseSeconds(string text, out double seconds, out string error)
    {
        seconds = 0;
        var trimmed = text.Trim();
        if (trimmed.Length > 0 && double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bare))
        {
            seconds = bare;
            error = "";
            return true;
        }
        var parts = DurationPattern().Matches(trimmed);
        if (trimmed.Length == 0 || parts.Sum(p => p.Length) != trimmed.Length)
        {
            error = $"'{text}' is not a duration: write a number with a unit, like 30s, 10m or 1h30m";
            return false;
        }
        foreach (Match p in parts)
        {
            var n = double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture);
            seconds += n * p.Groups[2].Value.ToLowerInvariant() switch
            {
                "ms" => 0.001,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => 86400,
            };
        }
        error = "";
        return true;
    }

    /// <summary>"0 B", "512 B", "64 KiB", "1.5 GiB".</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? $"{bytes} B"
            : value.ToString(value >= 100 || value == Math.Floor(value) ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>"0.25s", "42s", "3m05s", "2h10m", "3d4h".</summary>
    public static string FormatSeconds(double seconds)
    {
        if (seconds < 0)
            seconds = 0;
        if (seconds < 10)
            return seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        if (seconds >= 1e9)
            return seconds.ToString("G3", CultureInfo.InvariantCulture) + "s"; // past any calendar (and past what TimeSpan holds)
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        if (t.TotalMinutes < 1)
            return $"{t.Seconds}s";
        if (t.TotalHours < 1)
            return $"{t.Minutes}m{t.Seconds:00}s";
        if (t.TotalDays < 1)
            return $"{(int)t.TotalHours}h{t.Minutes:00}m";
        return $"{(int)t.TotalDays}d{t.Hours}h";
    }

    /// <summary>A duration as a flag takes it back: "0s", "250ms", "5s", "1m30s", "24h" (no days: hours read plainer).</summary>
    public static string FormatDuration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        var text = (t.TotalHours >= 1 ? $"{(int)t.TotalHours}h" : "")
                   + (t.Minutes > 0 ? $"{t.Minutes}m" : "")
                   + (t.Seconds > 0 ? $"{t.Seconds}s" : "")
                   + (t.Milliseconds > 0 ? $"{t.Milliseconds}ms" : "");
        return text.Length > 0 ? text : "0s";
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgtKMGT])(?:i?[bB])?|[bB])?\z")]
    private static partial Regex BytesPattern();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|[smhdSMHD])")]
    private static partial Regex DurationPattern();
}
