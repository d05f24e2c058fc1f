using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot;

/// <summary>struct hvm_modlist_entry: one module (Linux takes module 0 as its initrd), 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct HvmModListEntry
{
    public ulong Address;
    public ulong Size;
    public ulong CommandLineAddress;
    public ulong Reserved;
}
