using Microsoft.Extensions.Logging;

namespace PvhVm.Core.Devices;

/// <summary>
/// Guest-physical ranges outside RAM claimed by devices (virtio-mmio next). An access nobody claimed reads as
/// all-ones and its write vanishes, as on a PC bus, and so does one straddling a device's end; such accesses are counted, and only the first few logged, because
/// a guest can make millions of them.
/// </summary>
internal sealed class MmioBus
{
    private const int LoggedAccesses = 16;

    private readonly BusRanges<IMmioDevice> _ranges = new();
    private readonly ILogger _logger;
    private long _unhandledAccesses;

    public MmioBus(ILogger logger)
    {
        _logger = logger;
    }

    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>Claims [baseAddress, baseAddress+length) for <paramref name="device"/>; overlapping or wrapping ranges are refused.</summary>
    public void Register(ulong baseAddress, ulong length, IMmioDevice device) => _ranges.Add(baseAddress, length, device);

    public void Read(ulong address, Span<byte> data)
    {
        if (_ranges.Find(address, (ulong)data.Length, out var offset) is { } device)
        {
            device.Read(offset, data);
            return;
        }

        data.Fill(0xFF);
        CountUnhandled(address, "read", data.Length);
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (_ranges.Find(address, (ulong)data.Length, out var offset) is { } device)
        {
            device.Write(offset, data);
            return;
        }

        CountUnhandled(address, "write", data.Length);
    }

    private void CountUnhandled(ulong address, string access, int length)
    {
        if (Interlocked.Increment(ref _unhandledAccesses) <= LoggedAccesses)
        {
            _logger.LogDebug("Guest: unhandled MMIO {Access} of {Length} byte(s) at 0x{Address:x}", access, length, address);
        }
    }
}
