using PvhVm.Core.Kvm;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>A device's GSI on KVM's in-kernel irqchip, signalled as an edge: the line raised, then lowered.</summary>
internal sealed class EdgeIrq(KvmVm vm, uint gsi) : IInterruptLine
{
    public uint Gsi { get; } = gsi;

    public void Trigger()
    {
        vm.SetIrqLine(Gsi, true);
        vm.SetIrqLine(Gsi, false);
    }
}
