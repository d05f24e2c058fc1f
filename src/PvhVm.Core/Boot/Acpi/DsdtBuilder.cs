using PvhVm.Core.Devices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table: the devices the device manager describes (COM1 today), in <c>\_SB</c>,
/// and the S5 sleep state. <c>\_S5_</c> gives the SLP_TYP Linux writes to the FADT's sleep control register to power
/// off; without it Linux has no ACPI power-off and halts instead.
/// </summary>
internal static class DsdtBuilder
{
    /// <param name="devices">AML Device terms, one per device.</param>
    public static byte[] Build(IReadOnlyList<byte[]> devices)
    {
        byte[] aml =
        [
            .. Aml.RootScope("_SB", [.. devices]),
            // SLP_TYPa, SLP_TYPb (unused on hardware-reduced platforms), two reserved.
            .. Aml.Name("_S5_", Aml.Package(Aml.ByteConst(AcpiPowerDevice.S5SleepType), Aml.Zero, Aml.Zero, Aml.Zero)),
        ];
        var headerSize = System.Runtime.InteropServices.Marshal.SizeOf<AcpiTableHeader>();
        var table = AcpiTableHeader.NewTable("DSDT", revision: 2, headerSize + aml.Length);
        aml.CopyTo(table, headerSize);
        return AcpiTableHeader.Seal(table);
    }
}
