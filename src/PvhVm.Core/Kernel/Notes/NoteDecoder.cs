using System.Buffers.Binary;
using System.Text;

namespace PvhVm.Core.Kernel;

/// <summary>Names a note's type and decodes its descriptor by owner; unknown owners and types stay raw.</summary>
internal static class NoteDecoder
{
    public static (string TypeName, object? Value) Decode(string owner, uint type, byte[] descriptor) => owner switch
    {
        XenNotes.Owner => XenNotes.Decode(type, descriptor),
        GnuNotes.Owner => GnuNotes.Decode(type, descriptor),
        LinuxNotes.Owner => LinuxNotes.Decode(type, descriptor),
        _ => (Unknown(type), null),
    };

    public static string Unknown(uint type) => $"unknown (0x{type:x})";

    /// <summary>A little-endian integer of 1, 2, 4 or 8 bytes; null for any other size.</summary>
    public static ulong? Number(byte[] d) => d.Length switch
    {
        1 => d[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(d),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(d),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(d),
        _ => null,
    };

    /// <summary>The text up to the first NUL.</summary>
    public static string Text(byte[] d)
    {
        int end = Array.IndexOf(d, (byte)0);
        return Encoding.UTF8.GetString(d, 0, end < 0 ? d.Length : end);
    }

    /// <summary>Consecutive little-endian words of <paramref name="size"/> bytes; null when the length does not divide.</summary>
    public static ulong[]? Numbers(byte[] d, int size)
    {
        if (d.Length == 0 || d.Length % size != 0)
        {
            return null;
        }

        var values = new ulong[d.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            var word = d.AsSpan(i * size, size);
            values[i] = size == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(word) : BinaryPrimitives.ReadUInt32LittleEndian(word);
        }

        return values;
    }

    public static object? Boxed(ulong? value) => value is { } v ? v : null;
}
