using System.Buffers.Binary;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// Maps the fields of a seed that the kernel image parsers read: ELF header, program headers, notes and section
/// headers; a bzImage's setup header and the head and size trailer of its compressed payload. Written independently
/// of the parsers under test (it trusts the seed, which is well-formed).
/// </summary>
internal static class SeedFields
{
    private const int PayloadHeadBytes = 48;

    public static List<FuzzField> Of(byte[] image)
    {
        var fields = new List<FuzzField>();
        if (image.Length >= 0x268 && BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(0x202)) == 0x53726448)
        {
            AddSetupHeader(image, fields);
        }
        else if (image.Length >= 64 && image[0] == 0x7f && image[1] == (byte)'E')
        {
            AddElf(image, 0, fields);
        }

        return fields;
    }

    private static void AddSetupHeader(byte[] image, List<FuzzField> fields)
    {
        fields.Add(new(0x1f1, 1, FieldRole.Length));          // setup_sects
        fields.Add(new(0x202, 4, FieldRole.Header));          // HdrS
        fields.Add(new(0x206, 2, FieldRole.Header));          // version
        fields.Add(new(0x20e, 2, FieldRole.Offset));          // kernel_version
        fields.Add(new(0x238, 4, FieldRole.Length));          // cmdline_size
        fields.Add(new(0x248, 4, FieldRole.Offset));          // payload_offset
        fields.Add(new(0x24c, 4, FieldRole.Length));          // payload_length
        int sectors = image[0x1f1] == 0 ? 4 : image[0x1f1];
        int payload = ((sectors + 1) * 512) + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(0x248));
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(0x24c));
        if (payload + length > image.Length || length < 8)
        {
            return;
        }

        // The stream headers: magic, properties, dictionary and block sizes, in both byte orders (lzop is big-endian).
        for (int i = 0; i < Math.Min(PayloadHeadBytes, length - 4); i++)
        {
            fields.Add(new(payload + i, 1, FieldRole.Header));
            if (i % 4 == 0 && i + 4 <= length - 4)
            {
                fields.Add(new(payload + i, 4, FieldRole.Length));
                fields.Add(new(payload + i, 4, FieldRole.Length, BigEndian: true));
            }
        }

        fields.Add(new(payload + length - 4, 4, FieldRole.Length));   // the decompressed size the build appends
    }

    private static void AddElf(byte[] image, int at, List<FuzzField> fields)
    {
        bool is64 = image[at + 4] == 2;
        int word = is64 ? 8 : 4;
        fields.Add(new(at + 4, 1, FieldRole.Header));         // class
        fields.Add(new(at + 5, 1, FieldRole.Header));         // data
        fields.Add(new(at + 18, 2, FieldRole.Header));        // machine
        fields.Add(new(at + 24, word, FieldRole.Offset));     // entry
        int phoff = at + 24 + word, shoff = phoff + word, sizes = shoff + word + 6;
        fields.Add(new(phoff, word, FieldRole.Offset));
        fields.Add(new(shoff, word, FieldRole.Offset));
        for (int i = 0; i < 6; i++)
        {
            fields.Add(new(sizes + (2 * i), 2, FieldRole.Length));   // phentsize, phnum, shentsize, shnum, shstrndx (and ehsize)
        }

        ulong programHeaders = Read(image, phoff, word);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 2));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 4));
        for (int i = 0; i < phnum; i++)
        {
            int p = at + (int)programHeaders + (i * phentsize);
            AddProgramHeader(image, p, is64, fields);
        }

        ulong sectionHeaders = Read(image, shoff, word);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 6));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 8));
        for (int i = 0; i < shnum && sectionHeaders != 0; i++)
        {
            int s = at + (int)sectionHeaders + (i * shentsize);
            fields.Add(new(s, 4, FieldRole.Offset));                         // sh_name
            fields.Add(new(s + 4, 4, FieldRole.Header));                     // sh_type
            fields.Add(new(s + (is64 ? 24 : 16), word, FieldRole.Offset));   // sh_offset
            fields.Add(new(s + (is64 ? 32 : 20), word, FieldRole.Length));   // sh_size
            fields.Add(new(s + (is64 ? 48 : 32), word, FieldRole.Header));   // sh_addralign
        }
    }

    private static void AddProgramHeader(byte[] image, int p, bool is64, List<FuzzField> fields)
    {
        int word = is64 ? 8 : 4;
        int offset = p + (is64 ? 8 : 4), physical = offset + (2 * word), fileSize = physical + word, memorySize = fileSize + word;
        fields.Add(new(p, 4, FieldRole.Header));                             // p_type
        fields.Add(new(offset, word, FieldRole.Offset));
        fields.Add(new(physical, word, FieldRole.Offset));
        fields.Add(new(fileSize, word, FieldRole.Length));
        fields.Add(new(memorySize, word, FieldRole.Length));
        fields.Add(new(is64 ? p + 48 : p + 28, word, FieldRole.Header));     // p_align (note padding)
        if (BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(p)) == 4)
        {
            AddNotes(image, (int)Read(image, offset, word), (int)Read(image, fileSize, word), fields);
        }
    }

    private static void AddNotes(byte[] image, int start, int size, List<FuzzField> fields)
    {
        int position = start;
        while (position + 12 <= start + size)
        {
            int nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(position));
            int descriptorSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(position + 4));
            fields.Add(new(position, 4, FieldRole.Length));
            fields.Add(new(position + 4, 4, FieldRole.Length));
            fields.Add(new(position + 8, 4, FieldRole.Header));
            int descriptor = position + 12 + ((nameSize + 3) & ~3);
            fields.Add(new(descriptor, Math.Min(descriptorSize, 8) is 8 ? 8 : 4, FieldRole.Offset));
            position = descriptor + ((descriptorSize + 3) & ~3);
        }
    }

    private static ulong Read(byte[] image, int at, int width)
        => width == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(at));
}
