using System.Buffers.Binary;

namespace PvhVm.Core.Kernel;

/// <summary>GNU notes (elf.h NT_GNU_*): ABI tag, build id, gold version, properties.</summary>
internal static class GnuNotes
{
    public const string Owner = "GNU";
    public const uint BuildIdType = 3;

    public static (string TypeName, object? Value) Decode(uint type, byte[] d) => type switch
    {
        1 => ("NT_GNU_ABI_TAG", AbiTag(d)),
        2 => ("NT_GNU_HWCAP", null),
        BuildIdType => ("NT_GNU_BUILD_ID", Convert.ToHexString(d).ToLowerInvariant()),
        4 => ("NT_GNU_GOLD_VERSION", NoteDecoder.Text(d)),
        5 => ("NT_GNU_PROPERTY_TYPE_0", null),
        _ => (NoteDecoder.Unknown(type), null),
    };

    // Four 32-bit words: OS, major, minor, subminor.
    private static string? AbiTag(byte[] d)
    {
        if (d.Length != 16)
        {
            return null;
        }

        uint os = BinaryPrimitives.ReadUInt32LittleEndian(d);
        string osName = os switch { 0 => "Linux", 1 => "GNU", 2 => "Solaris2", 3 => "FreeBSD", _ => $"OS {os}" };
        return $"{osName} {BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(4))}.{BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(8))}.{BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(12))}";
    }
}
