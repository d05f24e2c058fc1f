using PvhVm.Core.Devices;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Checkpoints;

/// <summary>A paused VM's state apart from its RAM: kvm-clock, the in-kernel irqchip, every vCPU, the port devices, the console's unfinished line and the virtio devices.</summary>
internal sealed class MachineSnapshot
{
    /// <summary>The in-kernel irqchip's parts a KVM_CREATE_IRQCHIP VM has, in the order they are saved and set.</summary>
    public static readonly uint[] IrqchipIds = [KvmIrqchip.PicMaster, KvmIrqchip.PicSlave, KvmIrqchip.Ioapic];

    public required ulong ClockNanoseconds { get; init; }

    public required KvmIrqchip[] Irqchips { get; init; }

    public required VcpuSnapshot[] Vcpus { get; init; }

    public required UartSnapshot Serial { get; init; }

    public required I8042Snapshot I8042 { get; init; }

    public required byte[] ConsolePartialLine { get; init; }

    /// <summary>The virtio devices in slot order.</summary>
    public required VirtioDeviceSnapshot[] VirtioDevices { get; init; }
}
