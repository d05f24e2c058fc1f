using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>Extended System Description Table: the header followed by 64-bit addresses of the other tables (not the DSDT).</summary>
internal static class XsdtBuilder
{
    public static byte[] Build(IReadOnlyList<ulong> tableAddresses)
    {
        var headerSize = Marshal.SizeOf<AcpiTableHeader>();
        var table = AcpiTableHeader.NewTable("XSDT", revision: 1, headerSize + 8 * tableAddresses.Count);
        for (var i = 0; i < tableAddresses.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(headerSize + 8 * i), tableAddresses[i]);
        }

        return AcpiTableHeader.Seal(table);
    }
}
