namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A device's interrupt line as the VM wires it: an edge on its GSI of the in-kernel irqchip (KVM_IRQ_LINE high then
/// low, or one write to an irqfd). The device keeps InterruptStatus set until the driver acknowledges it, so an edge
/// per event is enough.
/// </summary>
internal interface IInterruptLine
{
    void Trigger();
}
