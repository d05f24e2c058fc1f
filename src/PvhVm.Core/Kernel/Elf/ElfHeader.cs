namespace PvhVm.Core.Kernel;

/// <summary>The ELF file header fields, ELF32 and ELF64 read into one shape.</summary>
internal readonly struct ElfHeader
{
    public ElfHeader(ReadOnlySpan<byte> image, bool is64)
    {
        int size = is64 ? 64 : 52;
        if (image.Length < size)
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, $"ELF header needs {size} bytes, the file has {image.Length}");
        }

        Is64 = is64;
        Machine = ElfReader.U16(image, 18);
        if (is64)
        {
            Entry = ElfReader.U64(image, 24);
            ProgramHeaderOffset = ElfReader.U64(image, 32);
            SectionHeaderOffset = ElfReader.U64(image, 40);
            ProgramHeaderSize = ElfReader.U16(image, 54);
            ProgramHeaderCount = ElfReader.U16(image, 56);
            SectionHeaderSize = ElfReader.U16(image, 58);
            SectionHeaderCount = ElfReader.U16(image, 60);
            SectionNameIndex = ElfReader.U16(image, 62);
        }
        else
        {
            Entry = ElfReader.U32(image, 24);
            ProgramHeaderOffset = ElfReader.U32(image, 28);
            SectionHeaderOffset = ElfReader.U32(image, 32);
            ProgramHeaderSize = ElfReader.U16(image, 42);
            ProgramHeaderCount = ElfReader.U16(image, 44);
            SectionHeaderSize = ElfReader.U16(image, 46);
            SectionHeaderCount = ElfReader.U16(image, 48);
            SectionNameIndex = ElfReader.U16(image, 50);
        }
    }

    public bool Is64 { get; }

    public ushort Machine { get; }

    public ulong Entry { get; }

    public ulong ProgramHeaderOffset { get; }

    public ulong SectionHeaderOffset { get; }

    public int ProgramHeaderSize { get; }

    public int ProgramHeaderCount { get; }

    public int SectionHeaderSize { get; }

    public int SectionHeaderCount { get; }

    public int SectionNameIndex { get; }
}
