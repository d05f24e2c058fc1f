using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot;

/// <summary>
/// struct hvm_start_info, version 1 (Xen public/arch-x86/hvm/start_info.h): 56 bytes, little-endian,
/// addresses guest-physical. A zero address means "not present".
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct HvmStartInfo
{
    /// <summary>"xEn3" with the 0x80 bit of the "E" set.</summary>
    public const uint MagicValue = 0x336E_C578;

    /// <summary>Version 1 adds memmap_paddr and memmap_entries.</summary>
    public const uint CurrentVersion = 1;

    public uint Magic;
    public uint Version;
    public uint Flags;
    public uint ModuleCount;
    public ulong ModuleListAddress;
    public ulong CommandLineAddress;
    public ulong RsdpAddress;
    public ulong MemoryMapAddress;
    public uint MemoryMapEntryCount;
    public uint Reserved;
}
