using PvhVm.Core.Devices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table describing COM1. With the FADT's hardware-reduced flag Linux sets up no
/// legacy ISA interrupts (its null PIC has none), so the UART's IRQ 4 reaches its driver only through this _CRS;
/// without it ttyS0 has output by polling but no interrupt. QEMU's microvm describes its UART the same way.
/// </summary>
public static class DsdtBuilder
{
    public static byte[] Build()
    {
        byte[] aml = Aml.RootScope("_SB",
            Aml.Device("COM1",
                Aml.Name("_HID", Aml.EisaId("PNP0501")),
                Aml.Name("_UID", Aml.Zero),
                Aml.Name("_CRS", Aml.ResourceTemplate(
                    Aml.IoPorts(Layout.Com1Port, (byte)Uart16550.PortCount),
                    Aml.Irq((int)Layout.Com1Irq)))));
        var headerSize = System.Runtime.InteropServices.Marshal.SizeOf<AcpiTableHeader>();
        var table = AcpiTableHeader.NewTable("DSDT", revision: 2, headerSize + aml.Length);
        aml.CopyTo(table, headerSize);
        return AcpiTableHeader.Seal(table);
    }
}
