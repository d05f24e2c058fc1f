using Microsoft.Extensions.Logging;

namespace PvhVm.Core.Devices;

/// <summary>
/// Routes port I/O to devices by range. Accesses nobody claims are counted, logged at debug level
/// (the first few of each port, so a flooding guest cannot flood the log) and read as all-ones.
/// </summary>
internal sealed class PortIoBus
{
    private const int LoggedPerPort = 4;

    private readonly List<(ushort Base, ushort Length, IPortIoDevice Device)> _ranges = [];
    private readonly Dictionary<ushort, int> _unhandledPerPort = [];
    private readonly ILogger _logger;
    private long _unhandledAccesses;

    public PortIoBus(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>Port accesses that no device claimed.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    public void Register(ushort basePort, ushort length, IPortIoDevice device)
    {
        foreach (var (b, l, _) in _ranges)
        {
            if (basePort < b + l && b < basePort + length)
            {
                throw new ArgumentException($"Ports 0x{basePort:x}+{length} overlap a registered device.");
            }
        }

        _ranges.Add((basePort, length, device));
    }

    public void Read(ushort port, Span<byte> data)
    {
        if (Find(port) is { } hit)
        {
            hit.Read(port, data);
            return;
        }

        data.Fill(0xFF);
        CountUnhandled(port, "read", data.Length);
    }

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (Find(port) is { } hit)
        {
            hit.Write(port, data);
            return;
        }

        CountUnhandled(port, "write", data.Length);
    }

    private IPortIoDevice? Find(ushort port)
    {
        foreach (var (b, l, device) in _ranges)
        {
            if (port >= b && port - b < l)
            {
                return device;
            }
        }

        return null;
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
