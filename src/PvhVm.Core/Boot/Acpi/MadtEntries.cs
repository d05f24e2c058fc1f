using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>MADT entry type 0: one processor's local APIC (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct MadtLocalApic
{
    public const byte EntryType = 0;
    public const uint EnabledFlag = 1;

    public byte Type;
    public byte Length;
    public byte ProcessorUid;
    public byte ApicId;
    public uint Flags;
}

/// <summary>MADT entry type 1: an I/O APIC and the first GSI it serves (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct MadtIoApic
{
    public const byte EntryType = 1;

    public byte Type;
    public byte Length;
    public byte IoApicId;
    public byte Reserved;
    public uint Address;
    public uint GsiBase;
}
