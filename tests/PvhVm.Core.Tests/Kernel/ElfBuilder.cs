using System.Buffers.Binary;
using System.Text;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Builds small ELF32/ELF64 little-endian images: header, program headers, data blobs, optional section headers.</summary>
internal sealed class ElfBuilder(bool is64)
{
    private readonly List<byte[]> _blobs = [];
    private readonly List<Segment> _segments = [];
    private readonly List<Section> _sections = [];

    public ushort Machine { get; init; } = 62;

    public ulong Entry { get; init; } = 0x100000;

    private int HeaderSize => is64 ? 64 : 52;

    private int ProgramHeaderSize => is64 ? 56 : 32;

    private int SectionHeaderSize => is64 ? 64 : 40;

    /// <summary>A blob of file bytes that segments and sections can point at.</summary>
    public int AddBlob(byte[] bytes)
    {
        _blobs.Add(bytes);
        return _blobs.Count - 1;
    }

    /// <summary>A program header over a blob; overrides fake broken offsets and sizes.</summary>
    public ElfBuilder AddSegment(uint type, int blob, ulong physical, ulong memorySize = 0, uint flags = 5, ulong alignment = 4, ulong? offset = null, ulong? fileSize = null)
    {
        _segments.Add(new Segment(type, blob, physical, memorySize, flags, alignment, offset, fileSize));
        return this;
    }

    public ElfBuilder AddLoad(ulong physical, byte[] bytes, ulong memorySize = 0, uint flags = 5)
        => AddSegment(1, AddBlob(bytes), physical, memorySize == 0 ? (ulong)bytes.Length : memorySize, flags, 0x1000);

    public ElfBuilder AddNoteSegment(byte[] notes, ulong alignment = 4) => AddSegment(4, AddBlob(notes), 0, (ulong)notes.Length, 4, alignment);

    public ElfBuilder AddSection(string name, uint type, int blob, ulong alignment = 4)
    {
        _sections.Add(new Section(name, type, blob, alignment));
        return this;
    }

    public byte[] Build()
    {
        int programHeaders = HeaderSize;
        long position = programHeaders + (long)_segments.Count * ProgramHeaderSize;
        var blobOffsets = new long[_blobs.Count];
        for (int i = 0; i < _blobs.Count; i++)
        {
            position = Align(position, 8);
            blobOffsets[i] = position;
            position += _blobs[i].Length;
        }

        var names = new MemoryStream();
        names.WriteByte(0);
        var nameOffsets = new List<int>();
        foreach (var name in _sections.Select(s => s.Name).Append(".shstrtab"))
        {
            nameOffsets.Add((int)names.Length);
            names.Write(Encoding.ASCII.GetBytes(name + "\0"));
        }

        long namesOffset = position;
        long sectionHeaders = 0;
        if (_sections.Count > 0)
        {
            position += names.Length;
            sectionHeaders = Align(position, 8);
            position = sectionHeaders + (long)(_sections.Count + 2) * SectionHeaderSize;
        }

        var image = new byte[position];
        WriteHeader(image, programHeaders, sectionHeaders);
        for (int i = 0; i < _segments.Count; i++)
        {
            var s = _segments[i];
            ulong offset = s.Offset ?? (ulong)blobOffsets[s.Blob];
            ulong fileSize = s.FileSize ?? (ulong)_blobs[s.Blob].Length;
            WriteProgramHeader(image.AsSpan(programHeaders + i * ProgramHeaderSize), s, offset, fileSize);
        }

        for (int i = 0; i < _blobs.Count; i++)
        {
            _blobs[i].CopyTo(image, blobOffsets[i]);
        }

        if (_sections.Count > 0)
        {
            names.ToArray().CopyTo(image, namesOffset);
            // Index 0 is the null section; the string table comes last.
            for (int i = 0; i < _sections.Count; i++)
            {
                var s = _sections[i];
                WriteSectionHeader(image.AsSpan((int)sectionHeaders + (i + 1) * SectionHeaderSize), nameOffsets[i], s.Type, (ulong)blobOffsets[s.Blob], (ulong)_blobs[s.Blob].Length, s.Alignment);
            }

            WriteSectionHeader(image.AsSpan((int)sectionHeaders + (_sections.Count + 1) * SectionHeaderSize), nameOffsets[^1], 3, (ulong)namesOffset, (ulong)names.Length, 1);
        }

        return image;
    }

    private void WriteHeader(byte[] image, int programHeaders, long sectionHeaders)
    {
        var h = image.AsSpan();
        h[0] = 0x7f;
        h[1] = (byte)'E';
        h[2] = (byte)'L';
        h[3] = (byte)'F';
        h[4] = (byte)(is64 ? 2 : 1);
        h[5] = 1;
        h[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2);   // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        int sectionCount = _sections.Count == 0 ? 0 : _sections.Count + 2;
        if (is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(h[24..], Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(h[32..], (ulong)programHeaders);
            BinaryPrimitives.WriteUInt64LittleEndian(h[40..], (ulong)sectionHeaders);
            BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);
            BinaryPrimitives.WriteUInt16LittleEndian(h[54..], 56);
            BinaryPrimitives.WriteUInt16LittleEndian(h[56..], (ushort)_segments.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(h[58..], 64);
            BinaryPrimitives.WriteUInt16LittleEndian(h[60..], (ushort)sectionCount);
            BinaryPrimitives.WriteUInt16LittleEndian(h[62..], (ushort)Math.Max(0, sectionCount - 1));
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)Entry);
            BinaryPrimitives.WriteUInt32LittleEndian(h[28..], (uint)programHeaders);
            BinaryPrimitives.WriteUInt32LittleEndian(h[32..], (uint)sectionHeaders);
            BinaryPrimitives.WriteUInt16LittleEndian(h[40..], 52);
            BinaryPrimitives.WriteUInt16LittleEndian(h[42..], 32);
            BinaryPrimitives.WriteUInt16LittleEndian(h[44..], (ushort)_segments.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(h[46..], 40);
            BinaryPrimitives.WriteUInt16LittleEndian(h[48..], (ushort)sectionCount);
            BinaryPrimitives.WriteUInt16LittleEndian(h[50..], (ushort)Math.Max(0, sectionCount - 1));
        }
    }

    private void WriteProgramHeader(Span<byte> p, Segment s, ulong offset, ulong fileSize)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(p, s.Type);
        if (is64)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(p[4..], s.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], offset);
            BinaryPrimitives.WriteUInt64LittleEndian(p[16..], s.Physical | 0xffffffff80000000);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], s.Physical);
            BinaryPrimitives.WriteUInt64LittleEndian(p[32..], fileSize);
            BinaryPrimitives.WriteUInt64LittleEndian(p[40..], s.MemorySize);
            BinaryPrimitives.WriteUInt64LittleEndian(p[48..], s.Alignment);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(p[4..], (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(p[8..], (uint)s.Physical | 0xc0000000);
            BinaryPrimitives.WriteUInt32LittleEndian(p[12..], (uint)s.Physical);
            BinaryPrimitives.WriteUInt32LittleEndian(p[16..], (uint)fileSize);
            BinaryPrimitives.WriteUInt32LittleEndian(p[20..], (uint)s.MemorySize);
            BinaryPrimitives.WriteUInt32LittleEndian(p[24..], s.Flags);
            BinaryPrimitives.WriteUInt32LittleEndian(p[28..], (uint)s.Alignment);
        }
    }

    private void WriteSectionHeader(Span<byte> e, int name, uint type, ulong offset, ulong size, ulong alignment)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)name);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], type);
        if (is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(e[24..], offset);
            BinaryPrimitives.WriteUInt64LittleEndian(e[32..], size);
            BinaryPrimitives.WriteUInt64LittleEndian(e[48..], alignment);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[32..], (uint)alignment);
        }
    }

    private static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private sealed record Segment(uint Type, int Blob, ulong Physical, ulong MemorySize, uint Flags, ulong Alignment, ulong? Offset, ulong? FileSize);

    private sealed record Section(string Name, uint Type, int Blob, ulong Alignment);
}
