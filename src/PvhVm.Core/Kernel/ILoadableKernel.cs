namespace PvhVm.Core.Kernel;

/// <summary>
/// A kernel image reduced to what the PVH loader needs: where its PT_LOAD segments go
/// and the 32-bit physical entry point from XEN_ELFNOTE_PHYS32_ENTRY.
/// </summary>
internal interface ILoadableKernel
{
    /// <summary>The image path, for error messages.</summary>
    string Path { get; }

    /// <summary>The PVH entry (guest-physical); null when the image has no PHYS32_ENTRY note.</summary>
    uint? PvhEntryPoint { get; }

    /// <summary>The kernel's own command-line limit (bzImage cmdline_size), when it declares one.</summary>
    int? CommandLineLimit { get; }

    /// <summary>Every PT_LOAD segment, in program-header order.</summary>
    IReadOnlyList<LoadSegment> LoadSegments { get; }

    /// <summary>Copies the segment's file bytes (exactly <see cref="LoadSegment.FileSize"/>) into <paramref name="destination"/>.</summary>
    void CopySegment(LoadSegment segment, Span<byte> destination);
}
