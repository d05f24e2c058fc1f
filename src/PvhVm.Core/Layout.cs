namespace PvhVm.Core;

/// <summary>
/// Every fixed guest-physical address, port and IRQ of the machine, in one place (cloud-hypervisor's
/// <c>arch/src/x86_64/layout.rs</c> has the same job). Guest-physical, from the bottom up:
/// <code>
/// 0x0000_0500  GDT                      0x0000_6000  start_info, module list at 0x6040
/// 0x0000_7000  e820 table               0x0002_0000  command line (up to 0x30000)
/// 0x0009_FC00  legacy EBDA/VGA/ROMs     0x000E_0000  ACPI tables (RSDP scan area)
/// 0x0010_0000  kernel, initrd, free RAM up to the MMIO hole or the end of RAM
/// 0xC000_0000  32-bit MMIO hole:        virtio-mmio devices at its start, one 4 KiB slot each (Firecracker's
///                                       spacing), on GSIs from 5 up (Firecracker's first; 4 is COM1), at most 8
///              0xFEC0_0000 I/O APIC, 0xFEE0_0000 local APIC, 0xFFFB_C000 KVM's identity map and TSS pages
/// 0x1_0000_0000 RAM above 4 GiB
/// </code>
/// Ports: i8042 0x60/0x64, POST 0x80, COM1 0x3F8-0x3FF, ACPI power 0x600-0x602. IRQs: COM1 on GSI 4.
/// <para>
/// The low pages mirror Firecracker's and cloud-hypervisor's x86_64 layouts. The ACPI tables sit at 0xE0000, inside
/// the legacy BIOS area that Linux scans for an RSDP, so even a kernel that ignores start_info.rsdp_paddr finds them. Linux reserves the whole first
/// megabyte for itself early on, so nothing the loader puts below 1 MiB is handed out as free memory.
/// </para>
/// <para>
/// The low megabyte in the e820 map: RAM [0, 0x9FC00) as Firecracker presents it (and as PC firmware does, the
/// EBDA starting at 639 KiB), reserved [0x9FC00, 0xE0000) for the EBDA, VGA window and option ROMs, and type ACPI
/// [0xE0000, 0x100000) holding the tables. Presenting the legacy hole keeps Linux's view the one it has on every PC
/// (it force-reserves 0xA0000-0xFFFFF anyway), and typing the tables' range ACPI keeps them from ever being
/// treated as free RAM. RAM resumes at 1 MiB up to the MMIO hole or the end of RAM, then from 4 GiB.
/// </para>
/// </summary>
public static class Layout
{
    public const ulong GdtAddress = 0x500;

    public const ulong StartInfoAddress = 0x6000;

    public const ulong ModuleListAddress = 0x6040;

    public const ulong MemoryMapTableAddress = 0x7000;

    /// <summary>
    /// Memory-map entries the guest may be given: Linux copies them into its 128-entry zero-page table
    /// (E820_MAX_ENTRIES_ZEROPAGE) without checking the count. The page reserved for the table holds 170.
    /// </summary>
    public const int MemoryMapTableCapacity = 128;

    public const ulong CommandLineAddress = 0x2_0000;

    /// <summary>Absolute cap on the command line in bytes, terminating NUL included (the window up to 0x30000).</summary>
    public const int CommandLineCapacity = 0x1_0000;

    /// <summary>Limit without NUL when the kernel declares none: Linux x86's COMMAND_LINE_SIZE is 2048 with the NUL.</summary>
    public const int DefaultCommandLineLimit = 2047;

    /// <summary>End of conventional low RAM: the EBDA starts here, as on PC firmware and in Firecracker's map.</summary>
    public const ulong LowRamEnd = 0x9_FC00;

    public const ulong AcpiTablesAddress = 0xE_0000;

    /// <summary>First byte above the legacy BIOS area; the kernel and the initrd go at or above it.</summary>
    public const ulong HighMemoryStart = 0x10_0000;

    /// <summary>The boot structures need the whole first megabyte of guest RAM.</summary>
    public const ulong MinimumRamSize = HighMemoryStart;

    /// <summary>Start of the 32-bit MMIO hole: device MMIO, the I/O APIC, the local APIC and KVM's pages live above it.</summary>
    public const ulong MmioHoleStart = 0xC000_0000;

    /// <summary>The first virtio-mmio device's window; device i is at <c>VirtioMmioBase + i * VirtioMmioSlotSize</c>.</summary>
    public const ulong VirtioMmioBase = MmioHoleStart;

    /// <summary>Each virtio-mmio device's window: one page (Firecracker's spacing; QEMU microvm uses 0x200).</summary>
    public const ulong VirtioMmioSlotSize = 0x1000;

    /// <summary>The first virtio-mmio device's GSI; device i is on <c>VirtioFirstGsi + i</c>.</summary>
    public const uint VirtioFirstGsi = 5;

    /// <summary>Virtio-mmio devices per VM (disks, entropy source, network adapters and vsock together): GSIs 5-12, as many as QEMU microvm's slots.</summary>
    public const int MaxVirtioDevices = 8;

    /// <summary>Where RAM continues above the hole.</summary>
    public const ulong HighRamStart = 0x1_0000_0000;

    public const ulong IoApicAddress = 0xFEC0_0000;

    public const ulong LocalApicAddress = 0xFEE0_0000;

    /// <summary>KVM_SET_IDENTITY_MAP_ADDR: one page KVM needs on Intel hosts, in the hole, away from RAM and the APICs.</summary>
    public const ulong IdentityMapAddress = 0xFFFB_C000;

    /// <summary>KVM_SET_TSS_ADDR: three pages KVM needs on Intel hosts, right above the identity map.</summary>
    public const uint TssAddress = 0xFFFB_D000;

    /// <summary>
    /// xAPIC IDs are 8 bits and 0xFF is the broadcast ID, which leaves 255; the I/O APIC takes one of them on the APIC
    /// bus, so 254 processors at most (Firecracker's and cloud-hypervisor's limit, for the same reason).
    /// </summary>
    public const int MaxProcessors = 254;

    /// <summary>The i8042 keyboard controller's data port.</summary>
    public const ushort I8042DataPort = 0x60;

    /// <summary>The i8042's command/status port; command 0xFE (pulse reset) ends the VM as a guest reset.</summary>
    public const ushort I8042CommandPort = 0x64;

    /// <summary>The POST/debug port Linux writes to as an I/O delay: accepted and ignored.</summary>
    public const ushort PostPort = 0x80;

    /// <summary>First of COM1's eight 16550 registers.</summary>
    public const ushort Com1Port = 0x3F8;

    /// <summary>
    /// The hardware-reduced ACPI power registers the FADT names, one byte each: sleep control (SLP_TYP/SLP_EN; S5 is
    /// power-off), sleep status, and reset. An unused range, as cloud-hypervisor's 0x3C0 is for its equivalent.
    /// </summary>
    public const ushort AcpiSleepControlPort = 0x600;

    public const ushort AcpiSleepStatusPort = 0x601;

    public const ushort AcpiResetPort = 0x602;

    /// <summary>COM1's line on the in-kernel irqchip (ISA IRQ 4, identity-mapped to GSI 4 by KVM's default routing).</summary>
    public const uint Com1Irq = 4;
}
