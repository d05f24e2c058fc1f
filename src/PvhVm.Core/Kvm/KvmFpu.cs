using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_fpu (416 bytes), the x87/SSE state of KVM_GET_FPU. Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmFpu
{
    public const int Size = 416;

    private fixed byte _bytes[Size];
}
