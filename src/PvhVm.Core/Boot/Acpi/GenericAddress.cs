using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>ACPI Generic Address Structure (12 bytes, ACPI 6.5 section 5.2.3.2): where a register lives and how to access it.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct GenericAddress
{
    public const int Size = 12;

    public const byte SystemIoSpace = 1;

    /// <summary>Access size 1: byte access.</summary>
    public const byte ByteAccess = 1;

    public byte AddressSpaceId;
    public byte RegisterBitWidth;
    public byte RegisterBitOffset;
    public byte AccessSize;
    public ulong Address;

    /// <summary>A one-byte register at an I/O port.</summary>
    public static GenericAddress IoPortByte(ushort port)
        => new() { AddressSpaceId = SystemIoSpace, RegisterBitWidth = 8, AccessSize = ByteAccess, Address = port };
}
