using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PvhVm.Control;

namespace PvhVm.Module.Logging;

/// <summary>
/// The ILogger a VM's engine writes to from any thread. PowerShell streams may only be written from the
/// pipeline thread, so messages wait here until a cmdlet working on the VM drains them. The queue is bounded:
/// when nobody drains, the oldest messages go, so a chatty engine cannot grow it without limit.
/// </summary>
internal sealed class VmLogQueue(string vmName, int capacity = VmLogQueue.DefaultCapacity) : MessageLogger
{
    public const int DefaultCapacity = 1000;

    private readonly ConcurrentQueue<LogEntry> _entries = new();

    protected override void Write(LogLevel level, string message)
    {
        _entries.Enqueue(new LogEntry(level, $"[{vmName}] {message}"));
        while (_entries.Count > capacity && _entries.TryDequeue(out _))
        {
        }
    }

    /// <summary>Takes every waiting message, oldest first.</summary>
    public IEnumerable<LogEntry> Drain()
    {
        while (_entries.TryDequeue(out var entry))
        {
            yield return entry;
        }
    }
}
