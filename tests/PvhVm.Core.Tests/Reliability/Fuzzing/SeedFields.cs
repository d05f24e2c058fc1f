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

    // Record numbers: one per header, program header, section header and note (notes numbered by file offset).
    private const int ElfHeaderRecord = 0, SetupRecord = 1, PayloadRecord = 2, ProgramRecords = 0x100, SectionRecords = 0x10000, NoteRecords = 0x20000;

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
        fields.Add(new(0x1f1, 1, FieldRole.Length, SetupRecord));          // setup_sects
        fields.Add(new(0x202, 4, FieldRole.Header, SetupRecord));          // HdrS
        fields.Add(new(0x206, 2, FieldRole.Header, SetupRecord));          // version
        fields.Add(new(0x20e, 2, FieldRole.Offset, SetupRecord));          // kernel_version
        fields.Add(new(0x238, 4, FieldRole.Length, SetupRecord));          // cmdline_size
        fields.Add(new(0x248, 4, FieldRole.Offset, SetupRecord));          // payload_offset
        fields.Add(new(0x24c, 4, FieldRole.Length, SetupRecord));          // payload_length
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
            fields.Add(new(payload + i, 1, FieldRole.Header, PayloadRecord));
            if (i % 4 == 0 && i + 4 <= length - 4)
            {
                fields.Add(new(payload + i, 4, FieldRole.Length, PayloadRecord));
                fields.Add(new(payload + i, 4, FieldRole.Length, PayloadRecord, BigEndian: true));
            }
        }

        fields.Add(new(payload + length - 4, 4, FieldRole.Length, PayloadRecord));   // the decompressed size the build appends
    }

    private static void AddElf(byte[] image, int at, List<FuzzField> fields)
    {
        bool is64 = image[at + 4] == 2;
        int word = is64 ? 8 : 4;
        fields.Add(new(at + 4, 1, FieldRole.Header, ElfHeaderRecord));         // class
        fields.Add(new(at + 5, 1, FieldRole.Header, ElfHeaderRecord));         // data
        fields.Add(new(at + 18, 2, FieldRole.Header, ElfHeaderRecord));        // machine
        fields.Add(new(at + 24, word, FieldRole.Offset, ElfHeaderRecord));     // entry
        int phoff = at + 24 + word, shoff = phoff + word, sizes = shoff + word + 6;   // e_phentsize follows e_flags and e_ehsize
        fields.Add(new(phoff, word, FieldRole.Offset, ElfHeaderRecord));
        fields.Add(new(shoff, word, FieldRole.Offset, ElfHeaderRecord));
        for (int i = 0; i < 5; i++)
        {
            fields.Add(new(sizes + (2 * i), 2, FieldRole.Length, ElfHeaderRecord));   // phentsize, phnum, shentsize, shnum, shstrndx
        }

        ulong programHeaders = Read(image, phoff, word);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 2));
        for (int i = 0; i < phnum; i++)
        {
            int p = at + (int)programHeaders + (i * phentsize);
            AddProgramHeader(image, p, is64, ProgramRecords + i, fields);
        }

        ulong sectionHeaders = Read(image, shoff, word);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 4));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(sizes + 6));
        for (int i = 0; i < shnum && sectionHeaders != 0; i++)
        {
            int s = at + (int)sectionHeaders + (i * shentsize);
            int record = SectionRecords + i;
            fields.Add(new(s, 4, FieldRole.Offset, record));                         // sh_name
            fields.Add(new(s + 4, 4, FieldRole.Header, record));                     // sh_type
            fields.Add(new(s + (is64 ? 24 : 16), word, FieldRole.Offset, record));   // sh_offset
            fields.Add(new(s + (is64 ? 32 : 20), word, FieldRole.Length, record));   // sh_size
            fields.Add(new(s + (is64 ? 48 : 32), word, FieldRole.Header, record));   // sh_addralign
        }
    }

    private static void AddProgramHeader(byte[] image, int p, bool is64, int record, List<FuzzField> fields)
    {
        int word = is64 ? 8 : 4;
        int offset = p + (is64 ? 8 : 4), physical = offset + (2 * word), fileSize = physical + word, memorySize = fileSize + word;
        fields.Add(new(p, 4, FieldRole.Header, record));                             // p_type
        fields.Add(new(offset, word, FieldRole.Offset, record));
        fields.Add(new(physical, word, FieldRole.Offset, record));
        fields.Add(new(fileSize, word, FieldRole.Length, record));
        fields.Add(new(memorySize, word, FieldRole.Length, record));
        fields.Add(new(is64 ? p + 48 : p + 28, word, FieldRole.Header, record));     // p_align (note padding)
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
            int record = NoteRecords + position;
            fields.Add(new(position, 4, FieldRole.Length, record));
            fields.Add(new(position + 4, 4, FieldRole.Length, record));
            fields.Add(new(position + 8, 4, FieldRole.Header, record));
            int descriptor = position + 12 + ((nameSize + 3) & ~3);
            fields.Add(new(descriptor, Math.Min(descriptorSize, 8) is 8 ? 8 : 4, FieldRole.Offset, record));
            position = descriptor + ((descriptorSize + 3) & ~3);
        }
    }

    private static ulong Read(byte[] image, int at, int width)
        => width == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(at));
}
