namespace PvhVm.Core.Boot;

/// <summary>
/// Every fixed guest-physical address the boot layer uses, in one place. The low pages mirror Firecracker's and
/// cloud-hypervisor's x86_64 layouts (GDT at 0x500, start_info at 0x6000, module list right behind it, memory map
/// at 0x7000, command line at 128 KiB). The ACPI tables sit at 0xE0000, inside the legacy BIOS area that Linux scans
/// for an RSDP, so even a kernel that ignores start_info.rsdp_paddr finds them. Linux reserves the whole first
/// megabyte for itself early on, so nothing the loader puts below 1 MiB is handed out as free memory.
/// <para>
/// The low megabyte in the e820 map: RAM [0, 0x9FC00) as Firecracker presents it (and as PC firmware does, the
/// EBDA starting at 639 KiB), reserved [0x9FC00, 0xE0000) for the EBDA, VGA window and option ROMs, and type ACPI
/// [0xE0000, 0x100000) holding the tables. Presenting the legacy hole keeps Linux's view the one it has on every PC
/// (it force-reserves 0xA0000-0xFFFFF anyway), and typing the tables' range ACPI keeps them from ever being
/// treated as free RAM. RAM resumes at 1 MiB up to the MMIO hole or the end of RAM, then from 4 GiB.
/// </para>
/// </summary>
public static class GuestLayout
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

    public const ulong IoApicAddress = 0xFEC0_0000;

    public const ulong LocalApicAddress = 0xFEE0_0000;

    /// <summary>xAPIC IDs are 8 bits and 0xFF is the broadcast ID, so the MADT can name at most 255 processors.</summary>
    public const int MaxProcessors = 255;
}
