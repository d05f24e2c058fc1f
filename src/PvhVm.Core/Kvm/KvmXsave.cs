using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_xsave (4096 bytes), the XSAVE area of KVM_GET_XSAVE (the legacy 4 KiB form). Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmXsave
{
    public const int Size = 4096;

    private fixed byte _bytes[Size];
}
