namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table: the devices the device manager describes (COM1 today), in <c>\_SB</c>.
/// </summary>
internal static class DsdtBuilder
{
    /// <param name="devices">AML Device terms, one per device.</param>
    public static byte[] Build(IReadOnlyList<byte[]> devices)
    {
        var aml = Aml.RootScope("_SB", [.. devices]);
        var headerSize = System.Runtime.InteropServices.Marshal.SizeOf<AcpiTableHeader>();
        var table = AcpiTableHeader.NewTable("DSDT", revision: 2, headerSize + aml.Length);
        aml.CopyTo(table, headerSize);
        return AcpiTableHeader.Seal(table);
    }
}
