using System.Globalization;
using System.Text.RegularExpressions;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>What GNU readelf says about an ELF file: entry, program headers and notes, parsed from its text output.</summary>
internal sealed partial record ReadElf(ulong Entry, IReadOnlyList<ReadElf.Segment> Segments, IReadOnlyList<ReadElf.Note> Notes)
{
    public sealed record Segment(string Type, ulong Offset, ulong VirtualAddress, ulong PhysicalAddress, ulong FileSize, ulong MemorySize, string Flags, ulong Alignment);

    public sealed record Note(string Owner, int DescriptorSize, string DescriptorHex);

    public static ReadElf Of(string path)
    {
        var (text, _) = DebianKernelFixture.Run("readelf", ["-W", "-h", "-l", "-n", path], TimeSpan.FromMinutes(1));
        var entry = Hex(EntryLine().Match(text).Groups[1].Value);
        var segments = SegmentLine().Matches(text).Select(m => new Segment(
            m.Groups[1].Value, Hex(m.Groups[2].Value), Hex(m.Groups[3].Value), Hex(m.Groups[4].Value),
            Hex(m.Groups[5].Value), Hex(m.Groups[6].Value), m.Groups[7].Value.Replace(" ", ""), Hex(m.Groups[8].Value))).ToList();
        var notes = new List<Note>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var header = NoteHeader().Match(lines[i]);
            if (!header.Success)
            {
                continue;
            }

            int size = (int)Hex(header.Groups[2].Value);
            // With -W the descriptor follows on the same line; without, on the next.
            string next = i + 1 < lines.Length && !NoteHeader().IsMatch(lines[i + 1]) ? lines[i + 1] : string.Empty;
            var data = DescriptionData().Match(lines[i] + next);
            var buildId = BuildIdLine().Match(lines[i] + next);
            string hex = data.Success ? data.Groups[1].Value.Replace(" ", "") : buildId.Success ? buildId.Groups[1].Value : string.Empty;
            notes.Add(new Note(header.Groups[1].Value, size, hex));
        }

        return new ReadElf(entry, segments, notes);
    }

    private static ulong Hex(string text) => ulong.Parse(text.Replace("0x", ""), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Entry point address:\s+(0x[0-9a-f]+)")]
    private static partial Regex EntryLine();

    // With -W each program header is one line: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align.
    [GeneratedRegex(@"^\s+([A-Z_]+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) ([RWE ]{3}) (0x[0-9a-f]+)", RegexOptions.Multiline)]
    private static partial Regex SegmentLine();

    [GeneratedRegex(@"^\s+(\S+)\s+(0x[0-9a-f]{8})\s")]
    private static partial Regex NoteHeader();

    [GeneratedRegex(@"description data: ([0-9a-f ]+)")]
    private static partial Regex DescriptionData();

    [GeneratedRegex(@"Build ID: ([0-9a-f]+)")]
    private static partial Regex BuildIdLine();
}
