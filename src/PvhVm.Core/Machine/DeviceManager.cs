using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot.Acpi;
using PvhVm.Core.Devices;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// A VM's devices (cloud-hypervisor's <c>device_manager.rs</c>): creates them, puts them on the port-I/O and MMIO
/// buses at their <see cref="Layout"/> addresses, wires their interrupt lines to KVM's in-kernel irqchip, and says
/// what the guest must find about them in the DSDT.
/// </summary>
internal sealed class DeviceManager
{
    public DeviceManager(KvmVm vm, ConsoleLog console, Action guestReset, Action powerOff, ILogger logger)
    {
        Ports = new PortIoBus(logger);
        Mmio = new MmioBus(logger);
        Serial = new Uart16550(b => console.Write([b]), high => vm.SetIrqLine(Layout.Com1Irq, high), Layout.Com1Port);
        Ports.Register(Layout.Com1Port, Uart16550.PortCount, Serial);
        var i8042 = new I8042Controller(guestReset);
        Ports.Register(Layout.I8042DataPort, 1, i8042);
        Ports.Register(Layout.I8042CommandPort, 1, i8042);
        Ports.Register(Layout.PostPort, 1, new IgnoredPorts());
        Ports.Register(Layout.AcpiSleepControlPort, AcpiPowerDevice.PortCount, new AcpiPowerDevice(powerOff, guestReset));
    }

    public PortIoBus Ports { get; }

    public MmioBus Mmio { get; }

    /// <summary>COM1: the guest's console.</summary>
    public Uart16550 Serial { get; }

    /// <summary>
    /// The devices' entries in the DSDT's <c>\_SB</c> scope; the same for every VM until devices are configurable. COM1: with the FADT's hardware-reduced flag Linux sets up no
    /// legacy ISA interrupts (its null PIC has none), so the UART's IRQ 4 reaches its driver only through this _CRS;
    /// without it ttyS0 has output by polling but no interrupt. QEMU's microvm describes its UART the same way.
    /// The i8042 and the POST port need no description: Linux probes them at their fixed ports.
    /// </summary>
    public static IReadOnlyList<byte[]> DsdtDevices { get; } =
    [
        Aml.Device("COM1",
            Aml.Name("_HID", Aml.EisaId("PNP0501")),
            Aml.Name("_UID", Aml.Zero),
            Aml.Name("_CRS", Aml.ResourceTemplate(
                Aml.IoPorts(Layout.Com1Port, (byte)Uart16550.PortCount),
                Aml.Irq((int)Layout.Com1Irq)))),
    ];
}
