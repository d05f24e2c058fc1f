using PvhVm.Core.Devices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table describing COM1 and the S5 sleep state. With the FADT's hardware-reduced
/// flag Linux sets up no legacy ISA interrupts (its null PIC has none), so the UART's IRQ 4 reaches its driver only
/// through this _CRS; without it ttyS0 has output by polling but no interrupt. QEMU's microvm describes its UART the
/// same way. <c>\_S5_</c> gives the SLP_TYP Linux writes to the FADT's sleep control register to power off; without
/// it Linux has no ACPI power-off and halts instead.
/// </summary>
public static class DsdtBuilder
{
    public static byte[] Build()
    {
        byte[] aml =
        [
            .. Aml.RootScope("_SB",
                Aml.Device("COM1",
                    Aml.Name("_HID", Aml.EisaId("PNP0501")),
                    Aml.Name("_UID", Aml.Zero),
                    Aml.Name("_CRS", Aml.ResourceTemplate(
                        Aml.IoPorts(Uart16550.Com1Base, (byte)Uart16550.PortCount),
                        Aml.Irq((int)Uart16550.Com1Irq))))),
            // SLP_TYPa, SLP_TYPb (unused on hardware-reduced platforms), two reserved.
            .. Aml.Name("_S5_", Aml.Package(Aml.ByteConst(AcpiPowerDevice.S5SleepType), Aml.Zero, Aml.Zero, Aml.Zero)),
        ];
        var headerSize = System.Runtime.InteropServices.Marshal.SizeOf<AcpiTableHeader>();
        var table = AcpiTableHeader.NewTable("DSDT", revision: 2, headerSize + aml.Length);
        aml.CopyTo(table, headerSize);
        return AcpiTableHeader.Seal(table);
    }
}
