namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The daemon's log: one line per event on stderr, "TIME LEVEL message",
/// written whole so lines from different threads never interleave. Every message is escaped
/// (<see cref="Shared.PrintableText"/>): text a user or a job gave can neither forge a line nor
/// reach a terminal as control or bidi characters, and an exception's trace stays on its line.
/// </summary>
internal sealed class Log(TextWriter output)
{
    private readonly Lock _lock = new();

    public static Log Console { get; } = new(System.Console.Error);

    public void Info(string message) => Write("info", message);

    public void Warn(string message) => Write("warn", message);

    public void Error(string message) => Write("error", message);

    private void Write(string level, string message)
    {
        var line = $"{DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {level,-5} {Shared.PrintableText.Escape(message)}";
        lock (_lock)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}

/// <summary>The daemon cannot start: one clear line on stderr and exit code 1.</summary>
internal sealed class DaemonStartException(string message) : Exception(message);
