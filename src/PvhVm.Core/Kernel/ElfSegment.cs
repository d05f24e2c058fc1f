namespace PvhVm.Core.Kernel;

/// <summary>One ELF program header, as stored (every type, not only PT_LOAD).</summary>
public sealed record ElfSegment(
    uint TypeCode,
    uint Flags,
    ulong Offset,
    ulong VirtualAddress,
    ulong PhysicalAddress,
    ulong FileSize,
    ulong MemorySize,
    ulong Alignment)
{
    public const uint PtLoad = 1;
    public const uint PtNote = 4;

    /// <summary>The readelf-style type name: LOAD, NOTE, GNU_STACK, ... or the number in hex.</summary>
    public string Type => ElfNames.SegmentType(TypeCode);

    /// <summary>Permissions as "RWE", with blanks for missing bits, like readelf.</summary>
    public string FlagsText => string.Concat(
        (Flags & 4) != 0 ? "R" : " ",
        (Flags & 2) != 0 ? "W" : " ",
        (Flags & 1) != 0 ? "E" : " ");
}
