namespace PvhVm.Core.Boot;

/// <summary>
/// The boot vCPU's registers at the PVH entry (Xen docs/misc/pvh.pandoc, Linux arch/x86/platform/pvh/head.S):
/// 32-bit protected mode without paging, flat segments from <see cref="BootGdt"/>, EBX = start_info.
/// </summary>
internal static class PvhEntryState
{
    /// <summary>CR0.PE; ET is set because every x86-64 CPU hard-wires it to 1.</summary>
    public const ulong Cr0 = 0x11;

    /// <summary>Only the always-one bit 1: IF, TF and VM clear.</summary>
    public const ulong Rflags = 0x2;

    /// <summary>A null LDT as the CPU's reset state has it: selector 0, present, type 2 (LDT), limit 0xFFFF.</summary>
    public static readonly SegmentState NullLdt = new(0, 0, 0xFFFF, 0x2, Present: true, Dpl: 0,
        DefaultBig: false, CodeOrData: false, Long: false, Granularity: false);

    public static CpuEntryState Create(uint entryPoint, ulong startInfoAddress) => new(
        Rip: entryPoint,
        Rbx: startInfoAddress,
        Rflags: Rflags,
        Cr0: Cr0,
        Cr4: 0,
        Efer: 0,
        Cs: BootGdt.Code,
        Ds: BootGdt.Data,
        Es: BootGdt.Data,
        Fs: BootGdt.Data,
        Gs: BootGdt.Data,
        Ss: BootGdt.Data,
        Tr: BootGdt.Tss,
        Ldt: NullLdt,
        GdtBase: Layout.GdtAddress,
        GdtLimit: BootGdt.Size - 1,
        IdtBase: 0,
        IdtLimit: 0);
}
