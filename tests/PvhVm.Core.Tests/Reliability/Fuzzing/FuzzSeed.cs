namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>What a field holds, so the mutator knows which values are worth trying there.</summary>
internal enum FieldRole
{
    /// <summary>A type, flag, version or magic: interesting values and bit flips.</summary>
    Header,

    /// <summary>A size or count (p_filesz, p_memsz, note sizes, payload_length, a block size): inflated too.</summary>
    Length,

    /// <summary>A file offset or address (p_offset, e_phoff, payload_offset): pointed past the end too.</summary>
    Offset,
}

/// <summary>
/// A field the parser reads: where it is, how wide, little- or big-endian, and which record (a program header, a
/// section header, a note) it belongs to: parsers check fields together, so some bugs need two fields of one record changed.
/// </summary>
internal readonly record struct FuzzField(int Offset, int Width, FieldRole Role, int Record, bool BigEndian = false);

/// <summary>A starting input and the fields in it that the parsers read.</summary>
internal sealed record FuzzSeed(string Name, byte[] Bytes, IReadOnlyList<FuzzField> Fields);
