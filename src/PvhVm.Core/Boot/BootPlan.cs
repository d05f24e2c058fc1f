namespace PvhVm.Core.Boot;

/// <summary>The result of loading: the boot vCPU's state, where start_info went, and the whole guest layout.</summary>
internal sealed record BootPlan(
    CpuEntryState EntryState,
    ulong StartInfoAddress,
    IReadOnlyList<E820Entry> MemoryMap,
    IReadOnlyList<LayoutRegion> Layout);
