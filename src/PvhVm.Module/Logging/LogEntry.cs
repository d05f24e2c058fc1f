using Microsoft.Extensions.Logging;

namespace PvhVm.Module.Logging;

/// <summary>One engine log message waiting for a pipeline thread to write it.</summary>
internal readonly record struct LogEntry(LogLevel Level, string Message);
