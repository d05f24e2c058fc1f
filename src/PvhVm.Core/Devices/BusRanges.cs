namespace PvhVm.Core.Devices;

/// <summary>
/// Non-overlapping address ranges, each claimed by one device: the lookup both buses share (ports widen to 64 bits).
/// Written so that no base + length can wrap, whatever the guest or a caller passes.
/// </summary>
internal sealed class BusRanges<TDevice>
    where TDevice : class
{
    private readonly List<(ulong Base, ulong Length, TDevice Device)> _ranges = [];

    /// <summary>Claims [start, start+length); refuses an empty, wrapping or overlapping range.</summary>
    public void Add(ulong start, ulong length, TDevice device)
    {
        if (length == 0 || length - 1 > ulong.MaxValue - start)
        {
            throw new ArgumentException($"Range 0x{start:x}+0x{length:x} is empty or wraps around.");
        }

        foreach (var (b, l, _) in _ranges)
        {
            if (start - b < l || b - start < length)
            {
                throw new ArgumentException($"Range 0x{start:x}+0x{length:x} overlaps a registered device.");
            }
        }

        _ranges.Add((start, length, device));
    }

    /// <summary>The device whose range holds all of [address, address+length), and the offset into it; null when none does.</summary>
    public TDevice? Find(ulong address, ulong length, out ulong offset)
    {
        foreach (var (b, l, device) in _ranges)
        {
            offset = address - b;
            if (address >= b && offset < l && length <= l - offset)
            {
                return device;
            }
        }

        offset = 0;
        return null;
    }
}
