namespace PvhVm.Core.Boot;

/// <summary>The boot vCPU's registers at the PVH entry, as the ABI prescribes.</summary>
internal sealed record CpuEntryState(
    ulong Rip,
    ulong Rbx,
    ulong Rflags,
    ulong Cr0,
    ulong Cr4,
    ulong Efer,
    SegmentState Cs,
    SegmentState Ds,
    SegmentState Es,
    SegmentState Fs,
    SegmentState Gs,
    SegmentState Ss,
    SegmentState Tr,
    SegmentState Ldt,
    ulong GdtBase,
    ushort GdtLimit,
    ulong IdtBase,
    ushort IdtLimit);
