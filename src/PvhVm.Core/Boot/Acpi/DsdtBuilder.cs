using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// Differentiated System Description Table with an empty AML body. The machine's devices (COM1, i8042) are legacy
/// ISA devices Linux probes at their fixed ports, so there is nothing the DSDT has to describe.
/// </summary>
public static class DsdtBuilder
{
    public static byte[] Build()
        => AcpiTableHeader.Seal(AcpiTableHeader.NewTable("DSDT", revision: 2, Marshal.SizeOf<AcpiTableHeader>()));
}
