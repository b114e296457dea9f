using Microsoft.Extensions.Logging;

namespace Lcluster.Daemon.Hosting;

/// <summary>Kestrel's and gRPC's warnings and errors, as lines of the daemon's own log.</summary>
internal sealed class LogForwarder(Log log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Forwarding(log, categoryName);

    public void Dispose()
    {
    }

    private sealed class Forwarding(Log log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var line = $"{category}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
            if (logLevel >= LogLevel.Error)
                log.Error(line);
            else
                log.Warn(line);
        }
    }
}
