using System.Globalization;

namespace Lcluster.TestSupport.Chaos;

/// <summary>Reads a node's DATA_DIR/containers.log: "EVENT key=value ..." per line.</summary>
public static class ContainerLogFile
{
    public const string FileName = "containers.log";

    /// <summary>The log before the current one, kept when the daemon rotated it.</summary>
    public const string PreviousFileName = FileName + ".1";

    public static IReadOnlyList<ContainerEvent> Read(string path) => Parse(File.ReadAllLines(path), path);

    /// <summary>Every event a node's data dir still holds: the rotated log's, then the current one's (either may be missing).</summary>
    public static IReadOnlyList<ContainerEvent> ReadNode(string dataDir) =>
    [
        .. new[] { PreviousFileName, FileName }.Select(name => Path.Combine(dataDir, name)).Where(File.Exists).SelectMany(Read),
    ];

    public static IReadOnlyList<ContainerEvent> Parse(IEnumerable<string> lines, string source = "container log")
    {
        var events = new List<ContainerEvent>();
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (line.Length == 0)
                continue;
            var parts = line.Split(' ');
            var fields = parts.Skip(1).Select(p => p.Split('=', 2)).ToDictionary(
                kv => kv[0], kv => kv.Length == 2 ? kv[1] : throw new FormatException($"{source}:{number}: '{line}' has a field without '='"));
            string Field(string name) => fields.TryGetValue(name, out var value) ? value : throw new FormatException($"{source}:{number}: '{line}' has no {name}=");
            events.Add(new ContainerEvent(Field("node"), parts[0],
                DateTimeOffset.Parse(Field("wall"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                double.Parse(Field("mono"), CultureInfo.InvariantCulture), int.Parse(Field("pid"), CultureInfo.InvariantCulture))
            {
                Job = fields.GetValueOrDefault("job"),
                Attempt = fields.TryGetValue("attempt", out var attempt) ? int.Parse(attempt, CultureInfo.InvariantCulture) : 0,
                Incarnation = fields.GetValueOrDefault("incarnation"),
                ExitCode = fields.TryGetValue("exit", out var exit) && exit != "-" ? int.Parse(exit, CultureInfo.InvariantCulture) : null,
                Signal = fields.TryGetValue("signal", out var signal) ? int.Parse(signal, CultureInfo.InvariantCulture) : 0,
            });
        }
        return events;
    }
}
