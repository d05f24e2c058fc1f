using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_msr_entry (16 bytes); kvm_msrs is an 8-byte header {nmsrs, pad} followed by these.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrEntry
{
    public uint Index;
    private uint _reserved;
    public ulong Data;

    public KvmMsrEntry(uint index, ulong data)
    {
        Index = index;
        _reserved = 0;
        Data = data;
    }
}
