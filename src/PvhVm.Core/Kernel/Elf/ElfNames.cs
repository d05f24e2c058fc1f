namespace PvhVm.Core.Kernel;

/// <summary>readelf-style names for ELF numbers.</summary>
internal static class ElfNames
{
    public const ushort MachineX86 = 3;
    public const ushort MachineX86_64 = 62;

    public static string Machine(ushort machine) => machine switch
    {
        MachineX86 => "x86",
        MachineX86_64 => "x86-64",
        40 => "ARM",
        183 => "AArch64",
        243 => "RISC-V",
        _ => $"machine {machine}",
    };

    public static string SegmentType(uint type) => type switch
    {
        0 => "NULL",
        1 => "LOAD",
        2 => "DYNAMIC",
        3 => "INTERP",
        4 => "NOTE",
        5 => "SHLIB",
        6 => "PHDR",
        7 => "TLS",
        0x6474e550 => "GNU_EH_FRAME",
        0x6474e551 => "GNU_STACK",
        0x6474e552 => "GNU_RELRO",
        0x6474e553 => "GNU_PROPERTY",
        _ => $"0x{type:x}",
    };
}
