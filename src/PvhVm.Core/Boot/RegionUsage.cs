namespace PvhVm.Core.Boot;

/// <summary>What the engine placed in a range of guest-physical memory.</summary>
public enum RegionUsage
{
    FreeRam,
    Gdt,
    StartInfo,
    CommandLine,
    ModuleList,
    MemoryMapTable,
    AcpiTables,
    KernelSegment,
    Initrd,
    MmioHole,
    Reserved,
}
