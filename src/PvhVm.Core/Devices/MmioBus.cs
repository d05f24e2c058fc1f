using Microsoft.Extensions.Logging;

namespace PvhVm.Core.Devices;

/// <summary>
/// Guest-physical ranges outside RAM claimed by devices (virtio-mmio next). An access nobody claimed reads as
/// all-ones and its write vanishes, as on a PC bus; such accesses are counted, and only the first few logged, because
/// a guest can make millions of them.
/// </summary>
internal sealed class MmioBus
{
    private const int LoggedAccesses = 16;

    private readonly List<(ulong Base, ulong Length, IMmioDevice Device)> _ranges = [];
    private readonly ILogger _logger;
    private long _unhandledAccesses;

    public MmioBus(ILogger logger)
    {
        _logger = logger;
    }

    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    public void Register(ulong baseAddress, ulong length, IMmioDevice device)
    {
        if (length == 0 || length - 1 > ulong.MaxValue - baseAddress)
        {
            throw new ArgumentException($"MMIO range 0x{baseAddress:x}+0x{length:x} is empty or wraps around.");
        }

        foreach (var (b, l, _) in _ranges)
        {
            if (baseAddress - b < l || b - baseAddress < length)
            {
                throw new ArgumentException($"MMIO range 0x{baseAddress:x}+0x{length:x} overlaps a registered device.");
            }
        }

        _ranges.Add((baseAddress, length, device));
    }

    public void Read(ulong address, Span<byte> data)
    {
        if (Find(address, data.Length, out var offset) is { } device)
        {
            device.Read(offset, data);
            return;
        }

        data.Fill(0xFF);
        CountUnhandled(address, "read", data.Length);
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (Find(address, data.Length, out var offset) is { } device)
        {
            device.Write(offset, data);
            return;
        }

        CountUnhandled(address, "write", data.Length);
    }

    /// <summary>The device whose range holds the whole access; an access straddling a range's end is unhandled.</summary>
    private IMmioDevice? Find(ulong address, int length, out ulong offset)
    {
        foreach (var (b, l, device) in _ranges)
        {
            offset = address - b;
            if (address >= b && offset < l && (ulong)length <= l - offset)
            {
                return device;
            }
        }

        offset = 0;
        return null;
    }

    private void CountUnhandled(ulong address, string access, int length)
    {
        if (Interlocked.Increment(ref _unhandledAccesses) <= LoggedAccesses)
        {
            _logger.LogDebug("Guest: unhandled MMIO {Access} of {Length} byte(s) at 0x{Address:x}", access, length, address);
        }
    }
}
