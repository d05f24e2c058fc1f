using System.Text;

namespace PvhVm.Core.Kernel;

/// <summary>
/// Walks the notes of every PT_NOTE segment and SHT_NOTE section. A note reached from both
/// (same file offset) is listed once. Name and descriptor are padded to 4 bytes, or 8 where the region is 8-aligned.
/// </summary>
internal static class ElfNoteReader
{
    private const int NoteHeaderSize = 12;

    public static List<ElfNote> ReadAll(ReadOnlySpan<byte> image, ElfLayout layout)
    {
        var notes = new List<ElfNote>();
        var seen = new HashSet<ulong>();
        foreach (var segment in layout.Segments.Where(s => s.TypeCode == ElfSegment.PtNote))
        {
            Walk(image, segment.Offset, segment.FileSize, segment.Alignment, $"NOTE segment at 0x{segment.Offset:x}", notes, seen);
        }

        foreach (var section in layout.Sections.Where(s => s.Type == ElfSection.ShtNote))
        {
            Walk(image, section.Offset, section.Size, section.Alignment, $"note section '{section.Name}'", notes, seen);
        }

        return notes;
    }

    private static void Walk(ReadOnlySpan<byte> image, ulong offset, ulong size, ulong alignment, string region, List<ElfNote> notes, HashSet<ulong> seen)
    {
        // The layout reader has checked that the region lies inside the file.
        var bytes = image.Slice((int)offset, (int)size);
        int align = alignment == 8 ? 8 : 4;
        int position = 0;
        while (position < bytes.Length)
        {
            var rest = bytes[position..];
            if (rest.Length < NoteHeaderSize)
            {
                if (rest.IndexOfAnyExcept((byte)0) < 0)
                {
                    return;   // trailing padding
                }

                throw new ImageDataException(KernelImageErrorKind.NoteOverrun, $"{region}: a note header at +0x{position:x} is cut short");
            }

            uint nameSize = ElfReader.U32(rest, 0);
            uint descriptorSize = ElfReader.U32(rest, 4);
            uint type = ElfReader.U32(rest, 8);
            // Padding is measured from the note's start, so the descriptor itself lands aligned.
            ulong descriptorStart = AlignUp(NoteHeaderSize + (ulong)nameSize, align);
            if ((ulong)NoteHeaderSize + nameSize > (ulong)rest.Length || descriptorStart + descriptorSize > (ulong)rest.Length)
            {
                throw new ImageDataException(KernelImageErrorKind.NoteOverrun,
                    $"{region}: the note at +0x{position:x} (name {nameSize} bytes, descriptor {descriptorSize} bytes) runs past the region's 0x{bytes.Length:x} bytes");
            }

            ulong noteOffset = offset + (ulong)position;
            if (seen.Add(noteOffset))
            {
                var owner = OwnerName(rest.Slice(NoteHeaderSize, (int)nameSize));
                var descriptor = rest.Slice((int)descriptorStart, (int)descriptorSize).ToArray();
                var (typeName, value) = NoteDecoder.Decode(owner, type, descriptor);
                notes.Add(new ElfNote(owner, type, typeName, descriptor, value, noteOffset));
            }

            // The last descriptor's padding may be missing at the end of the region.
            position = (int)Math.Min((ulong)bytes.Length, AlignUp(descriptorStart + descriptorSize, align) + (ulong)position);
        }
    }

    private static ulong AlignUp(ulong value, int align) => (value + (ulong)align - 1) & ~((ulong)align - 1);

    private static string OwnerName(ReadOnlySpan<byte> name)
    {
        int end = name.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
    }
}
