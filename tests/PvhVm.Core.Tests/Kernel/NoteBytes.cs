using System.Buffers.Binary;
using System.Text;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Encodes ELF notes: {namesz, descsz, type}, name with NUL, descriptor, each padded to the alignment.</summary>
internal static class NoteBytes
{
    public static byte[] Of(params (string Owner, uint Type, byte[] Descriptor)[] notes) => Aligned(4, notes);

    public static byte[] Aligned(int alignment, params (string Owner, uint Type, byte[] Descriptor)[] notes)
    {
        var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[12];
        foreach (var (owner, type, descriptor) in notes)
        {
            var name = owner.Length == 0 ? [] : Encoding.ASCII.GetBytes(owner + "\0");
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)descriptor.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], type);
            stream.Write(header);
            stream.Write(name);
            Pad(stream, alignment);
            stream.Write(descriptor);
            Pad(stream, alignment);
        }

        return stream.ToArray();
    }

    public static byte[] U32(uint value) => BitConverter.GetBytes(value);

    public static byte[] U64(ulong value) => BitConverter.GetBytes(value);

    public static byte[] Text(string value) => Encoding.ASCII.GetBytes(value + "\0");

    private static void Pad(MemoryStream stream, int alignment)
    {
        while (stream.Length % alignment != 0)
        {
            stream.WriteByte(0);
        }
    }
}
