using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>
/// The guest-physical map under construction: a sorted list of non-overlapping regions, starting from guest RAM,
/// the legacy BIOS area and the MMIO hole, from which boot structures, kernel segments and the initrd are claimed.
/// A claim succeeds only inside a single free-RAM region, which is what makes overlaps impossible.
/// </summary>
internal sealed class LayoutBuilder
{
    private const string FreeRamDescription = "free RAM";

    private readonly List<LayoutRegion> _regions;

    private LayoutBuilder(List<LayoutRegion> regions)
    {
        _regions = regions;
    }

    public IReadOnlyList<LayoutRegion> Regions => _regions;

    /// <summary>The starting map for <paramref name="memory"/>, which must hold at least <see cref="Layout.MinimumRamSize"/>.</summary>
    public static LayoutBuilder For(GuestMemory memory, string acpiDescription)
    {
        var low = memory.Regions[0];
        var regions = new List<LayoutRegion>
        {
            Free(0, Layout.LowRamEnd),
            new(Layout.LowRamEnd, Layout.AcpiTablesAddress - Layout.LowRamEnd, E820Type.Reserved,
                RegionUsage.Reserved, "legacy EBDA, VGA and option ROM window"),
            new(Layout.AcpiTablesAddress, Layout.HighMemoryStart - Layout.AcpiTablesAddress, E820Type.Acpi,
                RegionUsage.AcpiTables, acpiDescription),
        };
        if (low.End > Layout.HighMemoryStart)
        {
            regions.Add(Free(Layout.HighMemoryStart, low.End - Layout.HighMemoryStart));
        }

        regions.Add(new LayoutRegion(Layout.MmioHoleStart, Layout.HighRamStart - Layout.MmioHoleStart,
            E820Type.Reserved, RegionUsage.MmioHole,
            $"32-bit MMIO hole (I/O APIC 0x{Layout.IoApicAddress:x}, local APIC 0x{Layout.LocalApicAddress:x})"));
        foreach (var high in memory.Regions.Skip(1))
        {
            regions.Add(Free(high.GuestAddress, high.Size));
        }

        return new LayoutBuilder(regions);
    }

    /// <summary>
    /// Claims [start, start+size) out of one free-RAM region. On failure returns false and, in
    /// <paramref name="blocker"/>, the first occupied region the range runs into (null when it only leaves RAM).
    /// </summary>
    public bool TryClaim(ulong start, ulong size, RegionUsage usage, string description, out LayoutRegion? blocker)
    {
        blocker = null;
        for (var i = 0; i < _regions.Count; i++)
        {
            var region = _regions[i];
            if (region.Usage == RegionUsage.FreeRam && start >= region.Start && start <= region.End
                && size <= region.End - start)
            {
                Split(i, start, size, usage, description);
                return true;
            }
        }

        blocker = _regions.FirstOrDefault(r => r.Usage != RegionUsage.FreeRam && Overlaps(r, start, size));
        return false;
    }

    /// <summary>Claims the highest <paramref name="alignment"/>-aligned free range of <paramref name="size"/> bytes inside [floor, ceiling).</summary>
    public ulong? TryClaimHighest(ulong size, ulong alignment, ulong floor, ulong ceiling, RegionUsage usage, string description)
    {
        for (var i = _regions.Count - 1; i >= 0; i--)
        {
            var region = _regions[i];
            var lowest = Math.Max(region.Start, floor);
            var highest = Math.Min(region.End, ceiling);
            if (region.Usage != RegionUsage.FreeRam || highest <= lowest || size > highest - lowest)
            {
                continue;
            }

            var start = (highest - size) / alignment * alignment;
            if (start >= lowest)
            {
                Split(i, start, size, usage, description);
                return start;
            }
        }

        return null;
    }

    private static bool Overlaps(LayoutRegion region, ulong start, ulong size)
        => start < region.End && region.Start - Math.Min(region.Start, start) < size;

    private static LayoutRegion Free(ulong start, ulong size)
        => new(start, size, E820Type.Ram, RegionUsage.FreeRam, FreeRamDescription);

    private void Split(int index, ulong start, ulong size, RegionUsage usage, string description)
    {
        var free = _regions[index];
        var pieces = new List<LayoutRegion>(3);
        if (start > free.Start)
        {
            pieces.Add(Free(free.Start, start - free.Start));
        }

        pieces.Add(new LayoutRegion(start, size, E820Type.Ram, usage, description));
        if (start + size < free.End)
        {
            pieces.Add(Free(start + size, free.End - (start + size)));
        }

        _regions.RemoveAt(index);
        _regions.InsertRange(index, pieces);
    }
}
