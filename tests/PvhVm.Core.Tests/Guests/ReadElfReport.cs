using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PvhVm.Core.Tests.Guests;

/// <summary>
/// What binutils' readelf says about an ELF file: an independent witness for the guest images,
/// so that checking them does not depend on the project's own ELF reader.
/// </summary>
internal sealed partial record ReadElfReport(
    string ElfClass,
    ulong Entry,
    IReadOnlyList<ReadElfReport.Segment> Segments,
    IReadOnlyList<ReadElfReport.Note> Notes)
{
    internal sealed record Segment(string Type, ulong PhysicalAddress, ulong FileSize, ulong MemorySize, string Flags, IReadOnlyList<string> Sections)
    {
        public bool Contains(ulong address) => address >= PhysicalAddress && address < PhysicalAddress + FileSize;
    }

    internal sealed record Note(string Section, string Owner, int DescriptorSize, uint Type, byte[] Descriptor);

    public static ReadElfReport Of(string path)
    {
        var text = Run(path);
        var elfClass = ClassLine().Match(text).Groups[1].Value;
        var entry = Hex(EntryLine().Match(text).Groups[1].Value);

        var mapping = MappingLine().Matches(text).ToDictionary(
            m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            m => (IReadOnlyList<string>)m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var segments = SegmentLine().Matches(text).Select((m, index) => new Segment(
            m.Groups["type"].Value,
            Hex(m.Groups["paddr"].Value),
            Hex(m.Groups["filesz"].Value),
            Hex(m.Groups["memsz"].Value),
            m.Groups["flags"].Value.Replace(" ", "", StringComparison.Ordinal),
            mapping.GetValueOrDefault(index, []))).ToList();

        var notes = new List<Note>();
        foreach (var block in NotesBlock().Matches(text).Cast<Match>())
        {
            foreach (Match note in NoteLine().Matches(block.Groups["body"].Value))
            {
                var descriptor = note.Groups["desc"].Value
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(b => byte.Parse(b, NumberStyles.HexNumber, CultureInfo.InvariantCulture))
                    .ToArray();
                notes.Add(new Note(
                    block.Groups["section"].Value,
                    note.Groups["owner"].Value,
                    (int)Hex(note.Groups["size"].Value),
                    (uint)Hex(note.Groups["type"].Value),
                    descriptor));
            }
        }

        return new ReadElfReport(elfClass, entry, segments, notes);
    }

    private static string Run(string path)
    {
        var start = new ProcessStartInfo("readelf")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-h", "-l", "-n", "-W", path })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("readelf did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException($"readelf on {path} did not finish");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"readelf on {path} failed ({process.ExitCode}): {stderr.Result}");
        }

        return stdout;
    }

    private static ulong Hex(string digits) =>
        ulong.Parse(digits.StartsWith("0x", StringComparison.Ordinal) ? digits[2..] : digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*Class:\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex ClassLine();

    [GeneratedRegex(@"^\s*Entry point address:\s+(0x[0-9a-f]+)", RegexOptions.Multiline)]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"^\s*(?<type>[A-Z_]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(?<paddr>0x[0-9a-f]+)\s+(?<filesz>0x[0-9a-f]+)\s+(?<memsz>0x[0-9a-f]+)\s+(?<flags>[RWE ]+?)\s+0x[0-9a-f]+\s*$", RegexOptions.Multiline)]
    private static partial Regex SegmentLine();

    [GeneratedRegex(@"^\s+(\d\d)\s+([^\n]*?)\s*$", RegexOptions.Multiline)]
    private static partial Regex MappingLine();

    [GeneratedRegex(@"^Displaying notes found in: (?<section>\S+)\n(?<body>(?:[ \t][^\n]*\n?)*)", RegexOptions.Multiline)]
    private static partial Regex NotesBlock();

    [GeneratedRegex(@"^\s+(?<owner>\S+)\s+(?<size>0x[0-9a-f]+)\s+[^\n]*?\((?<type>0x[0-9a-f]+)\)\s*description data:(?<desc>(?: [0-9a-f]{2})*)", RegexOptions.Multiline)]
    private static partial Regex NoteLine();
}
