using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot;

/// <summary>struct hvm_memmap_table_entry: the wire form of <see cref="E820Entry"/>, 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct HvmMemmapTableEntry
{
    public ulong Address;
    public ulong Size;
    public uint Type;
    public uint Reserved;
}
