using Microsoft.Extensions.Logging;

namespace PvhVm.Core.Devices;

/// <summary>
/// Routes port I/O to devices by range. Accesses nobody claims are counted, logged at debug level
/// (the first few of each port, so a flooding guest cannot flood the log) and read as all-ones.
/// </summary>
internal sealed class PortIoBus
{
    private const int LoggedPerPort = 4;

    private readonly BusRanges<IPortIoDevice> _ranges = new();
    private readonly Dictionary<ushort, int> _unhandledPerPort = [];
    private readonly ILogger _logger;
    private long _unhandledAccesses;

    public PortIoBus(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>Port accesses that no device claimed.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>Claims ports [basePort, basePort+length) for <paramref name="device"/>; overlapping ranges are refused.</summary>
    public void Register(ushort basePort, ushort length, IPortIoDevice device) => _ranges.Add(basePort, length, device);

    public void Read(ushort port, Span<byte> data)
    {
        if (_ranges.Find(port, 1, out _) is { } hit)
        {
            hit.Read(port, data);
            return;
        }

        data.Fill(0xFF);
        CountUnhandled(port, "read", data.Length);
    }

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (_ranges.Find(port, 1, out _) is { } hit)
        {
            hit.Write(port, data);
            return;
        }

        CountUnhandled(port, "write", data.Length);
    }

    private void CountUnhandled(ushort port, string access, int size)
    {
        Interlocked.Increment(ref _unhandledAccesses);
        int seen;
        lock (_unhandledPerPort)
        {
            _unhandledPerPort[port] = seen = _unhandledPerPort.GetValueOrDefault(port) + 1;
        }

        if (seen <= LoggedPerPort)
        {
            _logger.LogDebug("Unhandled port {Access} of {Size} byte(s) at 0x{Port:x4}{Suffix}", access, size, port,
                seen == LoggedPerPort ? " (further accesses to this port are counted, not logged)" : "");
        }
    }
}
