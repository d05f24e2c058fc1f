namespace PvhVm.Core.Kernel;

/// <summary>An ELF file's header, program headers and section headers, validated against the file size.</summary>
internal sealed record ElfLayout(
    KernelFormat Format,
    ushort Machine,
    ulong Entry,
    IReadOnlyList<ElfSegment> Segments,
    IReadOnlyList<ElfSection> Sections);
