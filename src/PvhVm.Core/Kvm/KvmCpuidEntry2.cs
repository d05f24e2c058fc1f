using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_cpuid_entry2 (40 bytes); kvm_cpuid2 is an 8-byte header {nent, padding} followed by these.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmCpuidEntry2
{
    public const uint SignificantIndex = 1;

    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax;
    public uint Ebx;
    public uint Ecx;
    public uint Edx;
    private uint _padding0, _padding1, _padding2;
}
