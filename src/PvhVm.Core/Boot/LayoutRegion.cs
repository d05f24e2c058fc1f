namespace PvhVm.Core.Boot;

/// <summary>A range of guest-physical address space and what occupies it.</summary>
public sealed record LayoutRegion(ulong Start, ulong Size, E820Type Type, RegionUsage Usage, string Description)
{
    /// <summary>Exclusive end.</summary>
    public ulong End => Start + Size;
}
