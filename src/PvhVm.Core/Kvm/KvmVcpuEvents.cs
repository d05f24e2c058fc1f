using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_vcpu_events (64 bytes), pending exceptions, interrupts, NMIs and SMIs of KVM_GET_VCPU_EVENTS. Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmVcpuEvents
{
    public const int Size = 64;

    private fixed byte _bytes[Size];
}
