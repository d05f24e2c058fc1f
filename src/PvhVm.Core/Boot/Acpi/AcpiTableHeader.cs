using System.Runtime.InteropServices;

namespace PvhVm.Core.Boot.Acpi;

/// <summary>The 36-byte header every ACPI system description table starts with.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct AcpiTableHeader
{
    /// <summary>Offset of <see cref="Checksum"/>, which covers the whole table.</summary>
    public const int ChecksumOffset = 9;

    public fixed byte Signature[4];
    public uint Length;
    public byte Revision;
    public byte Checksum;
    public fixed byte OemId[6];
    public fixed byte OemTableId[8];
    public uint OemRevision;
    public fixed byte CreatorId[4];
    public uint CreatorRevision;

    /// <summary>
    /// A new table of <paramref name="length"/> bytes (zeroed) starting with its header; fill the body, then
    /// call <see cref="Seal"/>. OEM table IDs read "PVHV" + signature, e.g. PVHVAPIC.
    /// </summary>
    public static byte[] NewTable(string signature, byte revision, int length)
    {
        var header = new AcpiTableHeader { Length = (uint)length, Revision = revision, OemRevision = 1, CreatorRevision = 1 };
        AcpiText.Copy(signature, new Span<byte>(header.Signature, 4));
        AcpiText.Copy(AcpiText.OemId, new Span<byte>(header.OemId, 6));
        AcpiText.Copy(AcpiText.CreatorId + signature, new Span<byte>(header.OemTableId, 8));
        AcpiText.Copy(AcpiText.CreatorId, new Span<byte>(header.CreatorId, 4));
        var table = new byte[length];
        MemoryMarshal.Write(table, in header);
        return table;
    }

    /// <summary>Fills in the checksum once the body is final.</summary>
    public static byte[] Seal(byte[] table)
    {
        AcpiChecksum.Apply(table, ChecksumOffset);
        return table;
    }
}
