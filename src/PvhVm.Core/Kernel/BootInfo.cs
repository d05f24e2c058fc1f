namespace PvhVm.Core.Kernel;

/// <summary>What a kernel image declares about itself: format, entry points, segments, notes, version.</summary>
public sealed record BootInfo
{
    public required string Path { get; init; }

    public required KernelFormat Format { get; init; }

    public required KernelCompression Compression { get; init; }

    /// <summary>The ELF machine, e.g. "x86-64" or "x86" (for a bzImage, the embedded vmlinux's).</summary>
    public required string Machine { get; init; }

    /// <summary>The ELF e_entry (a virtual address for Linux).</summary>
    public required ulong EntryPoint { get; init; }

    /// <summary>The 32-bit physical entry from XEN_ELFNOTE_PHYS32_ENTRY.</summary>
    public uint? PvhEntryPoint { get; init; }

    public bool IsPvhBootable => NotPvhBootableReason is null;

    /// <summary>Why the image cannot be booted through PVH; null when it can.</summary>
    public string? NotPvhBootableReason { get; init; }

    /// <summary>The "Linux version ..." banner found in the image, without the trailing newline.</summary>
    public string? LinuxVersion { get; init; }

    /// <summary>The GNU build-id note as lower-case hex.</summary>
    public string? BuildId { get; init; }

    /// <summary>The bzImage's cmdline_size (longest command line, without the NUL), when it declares one.</summary>
    public int? CommandLineLimit { get; init; }

    public required IReadOnlyList<ElfSegment> Segments { get; init; }

    public required IReadOnlyList<ElfNote> Notes { get; init; }

    public BzImageSetupHeader? SetupHeader { get; init; }

    /// <summary>The file name alone, for tables.</summary>
    public string Name => System.IO.Path.GetFileName(Path);
}
