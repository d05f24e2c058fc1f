using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_debugregs (128 bytes), DR0-DR3, DR6 and DR7 of KVM_GET_DEBUGREGS. Kept opaque: a checkpoint saves and restores it as KVM gave it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmDebugRegs
{
    public const int Size = 128;

    private fixed byte _bytes[Size];
}
