using Microsoft.Extensions.Logging;

namespace Lcluster.Rpc;

/// <summary>Kestrel's logging, silenced except its errors, which go to <see cref="GrpcServerOptions.Log"/> as one line each.</summary>
internal sealed class LogForwarder(Action<string> log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(Action<string> log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var text = formatter(state, exception);
            if (exception != null)
                text += ": " + exception.ToString();
            log($"{category}: {text.ReplaceLineEndings(" | ")}");
        }
    }
}
