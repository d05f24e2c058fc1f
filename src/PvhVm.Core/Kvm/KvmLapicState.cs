using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_lapic_state (1024 bytes), the local APIC's register page of KVM_GET_LAPIC. Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmLapicState
{
    public const int Size = 1024;

    private fixed byte _bytes[Size];
}
