using PvhVm.Core.Interop;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A device's GSI signalled through a KVM irqfd: one eventfd write, no ioctl, from any thread. Without a resample fd
/// KVM pulses the line (high then low), the same edge as <see cref="EdgeIrq"/>; the transport keeps InterruptStatus set
/// until the driver acknowledges it, so nothing needs to know when the guest took the interrupt. Owns its eventfd.
/// </summary>
internal sealed class IrqfdLine : IInterruptLine, IDisposable
{
    private readonly Wakeup _eventFd = new();

    public IrqfdLine(KvmVm vm, uint gsi)
    {
        try
        {
            vm.AssignIrqfd(_eventFd.Descriptor, gsi);
        }
        catch
        {
            _eventFd.Dispose();
            throw;
        }
    }

    public void Trigger() => _eventFd.Signal();

    /// <summary>Closes this process's end; KVM keeps its reference until the VM is closed.</summary>
    public void Dispose() => _eventFd.Dispose();
}
