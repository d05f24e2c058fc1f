namespace PvhVm.Core.Boot;

/// <summary>
/// Derives the e820 map handed to the guest from the layout: adjacent regions of the same type merge, and the
/// MMIO hole is left out (it is neither RAM nor firmware memory; the MADT names the APICs in it). Because claims
/// only ever turn free RAM into used RAM, the map is the same before and after the kernel and initrd are placed.
/// </summary>
internal static class MemoryMapBuilder
{
    public static IReadOnlyList<E820Entry> FromLayout(IReadOnlyList<LayoutRegion> layout)
    {
        var map = new List<E820Entry>();
        foreach (var region in layout)
        {
            if (region.Usage == RegionUsage.MmioHole || region.Size == 0)
            {
                continue;
            }

            if (map.Count > 0 && map[^1].Type == region.Type && map[^1].End == region.Start)
            {
                map[^1] = map[^1] with { Size = map[^1].Size + region.Size };
            }
            else
            {
                map.Add(new E820Entry(region.Start, region.Size, region.Type));
            }
        }

        return map;
    }
}
