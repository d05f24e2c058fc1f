using System.Buffers.Binary;
using System.Text;

namespace PvhVm.Core.Kernel;

/// <summary>Reads the ELF header, program headers and section headers of a little-endian ELF32/ELF64 image.</summary>
internal static class ElfReader
{
    private const int IdentSize = 16;

    public static bool HasElfMagic(ReadOnlySpan<byte> image)
        => image.Length >= 4 && image[0] == 0x7f && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';

    public static ElfLayout Read(ReadOnlySpan<byte> image)
    {
        if (!HasElfMagic(image))
        {
            throw new ImageDataException(KernelImageErrorKind.NotAKernelImage, "no ELF magic");
        }

        if (image.Length < IdentSize)
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, "ELF identification cut short");
        }

        bool is64 = image[4] switch
        {
            1 => false,
            2 => true,
            var c => throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"ELF class {c} is neither ELF32 nor ELF64"),
        };
        if (image[5] != 1)
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"ELF data encoding {image[5]} is not little-endian");
        }

        var header = new ElfHeader(image, is64);
        var segments = ReadSegments(image, header);
        var sections = ReadSections(image, header);
        return new ElfLayout(is64 ? KernelFormat.Elf64 : KernelFormat.Elf32, header.Machine, header.Entry, segments, sections);
    }

    private static List<ElfSegment> ReadSegments(ReadOnlySpan<byte> image, ElfHeader header)
    {
        var segments = new List<ElfSegment>(header.ProgramHeaderCount);
        if (header.ProgramHeaderCount == 0)
        {
            return segments;
        }

        int minimum = header.Is64 ? 56 : 32;
        if (header.ProgramHeaderSize < minimum)
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"program header size {header.ProgramHeaderSize} is below {minimum}");
        }

        var table = Slice(image, header.ProgramHeaderOffset, (ulong)header.ProgramHeaderCount * (ulong)header.ProgramHeaderSize, "program header table");
        for (int i = 0; i < header.ProgramHeaderCount; i++)
        {
            var entry = table.Slice(i * header.ProgramHeaderSize, header.ProgramHeaderSize);
            var segment = header.Is64 ? ReadSegment64(entry) : ReadSegment32(entry);
            Validate(image, segment, i);
            segments.Add(segment);
        }

        RejectOverlappingLoads(segments);
        return segments;
    }

    private static ElfSegment ReadSegment64(ReadOnlySpan<byte> e) => new(
        TypeCode: U32(e, 0),
        Flags: U32(e, 4),
        Offset: U64(e, 8),
        VirtualAddress: U64(e, 16),
        PhysicalAddress: U64(e, 24),
        FileSize: U64(e, 32),
        MemorySize: U64(e, 40),
        Alignment: U64(e, 48));

    private static ElfSegment ReadSegment32(ReadOnlySpan<byte> e) => new(
        TypeCode: U32(e, 0),
        Flags: U32(e, 24),
        Offset: U32(e, 4),
        VirtualAddress: U32(e, 8),
        PhysicalAddress: U32(e, 12),
        FileSize: U32(e, 16),
        MemorySize: U32(e, 20),
        Alignment: U32(e, 28));

    // Only LOAD and NOTE bytes are ever read, so only their file ranges must lie inside the file.
    private static void Validate(ReadOnlySpan<byte> image, ElfSegment segment, int index)
    {
        if (segment.TypeCode != ElfSegment.PtLoad && segment.TypeCode != ElfSegment.PtNote)
        {
            return;
        }

        if (!FitsIn(image, segment.Offset, segment.FileSize))
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated,
                $"program header {index} ({segment.Type}) covers file bytes 0x{segment.Offset:x}+0x{segment.FileSize:x}, past the end of the file (0x{image.Length:x} bytes)");
        }

        if (segment.TypeCode == ElfSegment.PtLoad)
        {
            if (segment.FileSize > segment.MemorySize)
            {
                throw new ImageDataException(KernelImageErrorKind.CorruptHeader,
                    $"program header {index} (LOAD) has file size 0x{segment.FileSize:x} above its memory size 0x{segment.MemorySize:x}");
            }

            if (segment.PhysicalAddress + segment.MemorySize < segment.PhysicalAddress)
            {
                throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"program header {index} (LOAD) wraps around the physical address space");
            }
        }
    }

    // A loader copies every LOAD to its physical address; overlapping ranges would silently overwrite each other.
    private static void RejectOverlappingLoads(List<ElfSegment> segments)
    {
        var loads = segments.Where(s => s.TypeCode == ElfSegment.PtLoad && s.MemorySize > 0).OrderBy(s => s.PhysicalAddress).ToList();
        for (int i = 1; i < loads.Count; i++)
        {
            var previous = loads[i - 1];
            if (loads[i].PhysicalAddress < previous.PhysicalAddress + previous.MemorySize)
            {
                throw new ImageDataException(KernelImageErrorKind.CorruptHeader,
                    $"LOAD segments overlap in physical memory: 0x{previous.PhysicalAddress:x}+0x{previous.MemorySize:x} and 0x{loads[i].PhysicalAddress:x}+0x{loads[i].MemorySize:x}");
            }
        }
    }

    private static List<ElfSection> ReadSections(ReadOnlySpan<byte> image, ElfHeader header)
    {
        var sections = new List<ElfSection>();
        if (header.SectionHeaderOffset == 0 || header.SectionHeaderCount == 0)
        {
            return sections;
        }

        int minimum = header.Is64 ? 64 : 40;
        if (header.SectionHeaderSize < minimum)
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, $"section header size {header.SectionHeaderSize} is below {minimum}");
        }

        var table = Slice(image, header.SectionHeaderOffset, (ulong)header.SectionHeaderCount * (ulong)header.SectionHeaderSize, "section header table");
        var raw = new (uint Name, uint Type, ulong Offset, ulong Size, ulong Align)[header.SectionHeaderCount];
        for (int i = 0; i < raw.Length; i++)
        {
            var e = table.Slice(i * header.SectionHeaderSize, header.SectionHeaderSize);
            raw[i] = header.Is64
                ? (U32(e, 0), U32(e, 4), U64(e, 24), U64(e, 32), U64(e, 48))
                : (U32(e, 0), U32(e, 4), U32(e, 16), U32(e, 20), U32(e, 32));
        }

        var names = SectionNameTable(image, header.SectionNameIndex, raw);
        for (int i = 0; i < raw.Length; i++)
        {
            var (name, type, offset, size, align) = raw[i];
            if (type != ElfSection.ShtNobits && type != 0 && !FitsIn(image, offset, size))
            {
                throw new ImageDataException(KernelImageErrorKind.Truncated,
                    $"section {i} covers file bytes 0x{offset:x}+0x{size:x}, past the end of the file");
            }

            sections.Add(new ElfSection(NameAt(names, name), type, offset, size, align));
        }

        return sections;
    }

    private static ReadOnlySpan<byte> SectionNameTable(ReadOnlySpan<byte> image, int index, (uint Name, uint Type, ulong Offset, ulong Size, ulong Align)[] raw)
    {
        if (index <= 0 || index >= raw.Length || !FitsIn(image, raw[index].Offset, raw[index].Size))
        {
            return default;   // names are cosmetic; a missing string table leaves them empty
        }

        return image.Slice((int)raw[index].Offset, (int)raw[index].Size);
    }

    private static string NameAt(ReadOnlySpan<byte> names, uint offset)
    {
        if (offset >= names.Length)
        {
            return string.Empty;
        }

        var rest = names[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }

    internal static bool FitsIn(ReadOnlySpan<byte> image, ulong offset, ulong size)
        => offset <= (ulong)image.Length && size <= (ulong)image.Length - offset;

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> image, ulong offset, ulong size, string what)
    {
        if (!FitsIn(image, offset, size))
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, $"{what} at 0x{offset:x}+0x{size:x} runs past the end of the file");
        }

        return image.Slice((int)offset, (int)size);
    }

    internal static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    internal static ulong U64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);

    internal static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);
}
