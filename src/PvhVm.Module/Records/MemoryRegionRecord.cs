using PvhVm.Core.Boot;

namespace PvhVm.Module.Records;

/// <summary>A range of a VM's guest-physical memory and what the engine placed there (PSTypeName PvhVm.MemoryRegion).</summary>
/// <param name="End">Exclusive end.</param>
public sealed record MemoryRegionRecord(string VmName, ulong Start, ulong End, ulong Size, E820Type Type, RegionUsage Usage, string Description)
{
    public const string TypeName = "PvhVm.MemoryRegion";

    public static MemoryRegionRecord From(string vmName, LayoutRegion region)
        => new(vmName, region.Start, region.End, region.Size, region.Type, region.Usage, region.Description);
}
