using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>
/// The complete set of ACPI tables as one contiguous image for a given guest address: RSDP first (16-byte
/// aligned, as a legacy scan expects), then XSDT, FADT, DSDT and MADT, each 16-byte aligned.
/// </summary>
internal sealed class AcpiTables
{
    public const string Summary = "ACPI tables (RSDP, XSDT, FACP, DSDT, APIC)";

    private const int Alignment = 16;

    private AcpiTables(byte[] image, ulong rsdpAddress)
    {
        Image = image;
        RsdpAddress = rsdpAddress;
    }

    public byte[] Image { get; }

    /// <summary>The guest-physical address of the RSDP, for start_info.rsdp_paddr.</summary>
    public ulong RsdpAddress { get; }

    /// <param name="dsdtDevices">AML Device terms for the DSDT, from the device manager.</param>
    public static AcpiTables Build(ulong baseAddress, int processorCount, IReadOnlyList<byte[]> dsdtDevices)
    {
        var dsdt = DsdtBuilder.Build(dsdtDevices);
        var madt = MadtBuilder.Build(processorCount);

        // Fixed sizes decide every address before the tables that point at each other are built.
        var rsdpOffset = 0;
        var xsdtOffset = Align(rsdpOffset + Marshal.SizeOf<Rsdp>());
        var fadtOffset = Align(xsdtOffset + XsdtLength(tableCount: 2));
        var dsdtOffset = Align(fadtOffset + FadtBuilder.Length);
        var madtOffset = Align(dsdtOffset + dsdt.Length);

        var fadt = FadtBuilder.Build(baseAddress + (ulong)dsdtOffset);
        var xsdt = XsdtBuilder.Build([baseAddress + (ulong)fadtOffset, baseAddress + (ulong)madtOffset]);
        var rsdp = Rsdp.Build(baseAddress + (ulong)xsdtOffset);

        var image = new byte[madtOffset + madt.Length];
        rsdp.CopyTo(image, rsdpOffset);
        xsdt.CopyTo(image, xsdtOffset);
        fadt.CopyTo(image, fadtOffset);
        dsdt.CopyTo(image, dsdtOffset);
        madt.CopyTo(image, madtOffset);
        return new AcpiTables(image, baseAddress + (ulong)rsdpOffset);
    }

    private static int XsdtLength(int tableCount) => Marshal.SizeOf<AcpiTableHeader>() + 8 * tableCount;

    private static int Align(int offset) => (offset + Alignment - 1) / Alignment * Alignment;
}
