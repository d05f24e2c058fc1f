using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>
/// struct kvm_irqchip (520 bytes): one in-kernel interrupt controller's state (KVM_GET_IRQCHIP / KVM_SET_IRQCHIP),
/// named by <see cref="ChipId"/>; the 512-byte union (PIC or IOAPIC) stays opaque.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmIrqchip
{
    public const uint PicMaster = 0;
    public const uint PicSlave = 1;
    public const uint Ioapic = 2;

    public uint ChipId;
    private uint _pad;
    private fixed byte _chip[512];
}
