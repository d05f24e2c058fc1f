using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>Root System Description Pointer, revision 2 (36 bytes): points at the XSDT only.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct Rsdp
{
    public const int Revision2 = 2;

    /// <summary>The ACPI 1.0 checksum covers only the first 20 bytes; the extended one covers all 36.</summary>
    public const int Acpi1Length = 20;

    public fixed byte Signature[8];
    public byte Checksum;
    public fixed byte OemId[6];
    public byte Revision;
    public uint RsdtAddress;
    public uint Length;
    public ulong XsdtAddress;
    public byte ExtendedChecksum;
    public fixed byte Reserved[3];

    public static byte[] Build(ulong xsdtAddress)
    {
        var rsdp = new Rsdp { Revision = Revision2, Length = (uint)sizeof(Rsdp), XsdtAddress = xsdtAddress };
        AcpiText.Copy("RSD PTR ", new Span<byte>(rsdp.Signature, 8));
        AcpiText.Copy(AcpiText.OemId, new Span<byte>(rsdp.OemId, 6));
        var bytes = new byte[sizeof(Rsdp)];
        MemoryMarshal.Write(bytes, in rsdp);
        AcpiChecksum.Apply(bytes.AsSpan(0, Acpi1Length), checksumOffset: 8);
        AcpiChecksum.Apply(bytes, checksumOffset: 32);
        return bytes;
    }
}
