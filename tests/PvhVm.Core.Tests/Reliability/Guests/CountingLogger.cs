using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PvhVm.Core.Tests.Reliability.Guests;

/// <summary>Keeps every message the engine logs, so a test can check that a flooding guest cannot flood the log.</summary>
internal sealed class CountingLogger : ILogger
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Messages.Enqueue(formatter(state, exception));
}
