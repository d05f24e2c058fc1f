using Microsoft.Extensions.Logging;

namespace PvhVm.Control;

/// <summary>
/// An ILogger that hands each enabled message on as one line of text with its level: the formatted message, and the
/// exception's type and message after it. What the engine logs, for the host's log file and for a pwsh's queue alike.
/// </summary>
public abstract class MessageLogger : ILogger
{
    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var message = formatter(state, exception);
        Write(logLevel, exception is null ? message : $"{message} ({exception.GetType().Name}: {exception.Message})");
    }

    /// <summary>Takes one message; may be called from any thread.</summary>
    protected abstract void Write(LogLevel level, string message);
}
