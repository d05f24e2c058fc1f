using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_xcrs (392 bytes), the extended control registers (XCR0) of KVM_GET_XCRS. Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmXcrs
{
    public const int Size = 392;

    private fixed byte _bytes[Size];
}
