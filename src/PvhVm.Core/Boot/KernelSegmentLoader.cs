using PvhVm.Core.Kernel;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Boot;

/// <summary>
/// Places the kernel's PT_LOAD segments at their physical addresses. Every size and address comes from an untrusted
/// image, so each check is written so that no sum can overflow.
/// </summary>
internal static class KernelSegmentLoader
{
    private const int ZeroChunk = 1 << 30;

    /// <summary>Checks every segment and claims its range in the layout; throws <see cref="BootException"/> on the first bad one.</summary>
    internal static void Claim(LayoutBuilder layout, GuestMemory memory, ILoadableKernel kernel)
    {
        var segments = kernel.LoadSegments;
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            CheckShape(i, segment, memory);
            if (segment.MemorySize == 0)
            {
                continue;
            }

            for (var j = 0; j < i; j++)
            {
                if (segments[j].MemorySize != 0 && Overlap(segment, segments[j]))
                {
                    throw new BootException(BootErrorKind.SegmentsOverlap, $"{Name(i, segment)} overlaps {Name(j, segments[j])}.");
                }
            }

            if (!layout.TryClaim(segment.PhysicalAddress, segment.MemorySize, RegionUsage.KernelSegment, Describe(i, segment), out var blocker))
            {
                throw new BootException(BootErrorKind.SegmentOverlapsBootData,
                    $"{Name(i, segment)} overlaps {blocker?.Description ?? "boot data"} at [0x{blocker?.Start:x}, 0x{blocker?.End:x}).");
            }
        }
    }

    /// <summary>Throws <see cref="BootException"/> unless <paramref name="entry"/> lies inside a loaded segment.</summary>
    internal static void CheckEntry(ILoadableKernel kernel, uint entry)
    {
        if (!kernel.LoadSegments.Any(s => entry >= s.PhysicalAddress && entry - s.PhysicalAddress < s.MemorySize))
        {
            throw new BootException(BootErrorKind.EntryOutsideSegments,
                $"The PVH entry 0x{entry:x} of '{kernel.Path}' is not inside any PT_LOAD segment.");
        }
    }

    /// <summary>
    /// Copies each segment's file bytes and zeroes the rest up to its memory size. The zeroing is explicit (not left
    /// to fresh anonymous memory) so that loading into reused guest memory is still correct.
    /// </summary>
    public static void Load(GuestMemory memory, ILoadableKernel kernel)
    {
        foreach (var segment in kernel.LoadSegments)
        {
            if (segment.MemorySize == 0)
            {
                continue;
            }

            kernel.CopySegment(segment, memory.GetSpan(segment.PhysicalAddress, (int)segment.FileSize));
            for (var done = segment.FileSize; done < segment.MemorySize;)
            {
                var chunk = (int)Math.Min(segment.MemorySize - done, ZeroChunk);
                memory.GetSpan(segment.PhysicalAddress + done, chunk).Clear();
                done += (ulong)chunk;
            }
        }
    }

    /// <summary>A short readable name such as "kernel PT_LOAD #0 (r-x)".</summary>
    public static string Describe(int index, LoadSegment segment)
    {
        const uint executable = 1, writable = 2, readable = 4;
        var flags = $"{((segment.Flags & readable) != 0 ? 'r' : '-')}{((segment.Flags & writable) != 0 ? 'w' : '-')}{((segment.Flags & executable) != 0 ? 'x' : '-')}";
        return $"kernel PT_LOAD #{index} ({flags})";
    }

    private static void CheckShape(int index, LoadSegment segment, GuestMemory memory)
    {
        if (segment.FileSize > segment.MemorySize || segment.FileSize > int.MaxValue)
        {
            throw new BootException(BootErrorKind.InvalidSegment,
                $"{Name(index, segment)} has 0x{segment.FileSize:x} file bytes for 0x{segment.MemorySize:x} bytes of memory.");
        }

        if (segment.MemorySize == 0)
        {
            return;
        }

        if (segment.MemorySize > ulong.MaxValue - segment.PhysicalAddress)
        {
            throw new BootException(BootErrorKind.SegmentOutsideRam, $"{Name(index, segment)} wraps around the end of the address space.");
        }

        if (segment.PhysicalAddress < Layout.HighRamStart && segment.PhysicalEnd > Layout.MmioHoleStart)
        {
            throw new BootException(BootErrorKind.SegmentInMmioHole,
                $"{Name(index, segment)} reaches into the MMIO hole [0x{Layout.MmioHoleStart:x}, 0x{Layout.HighRamStart:x}).");
        }

        if (!memory.Contains(segment.PhysicalAddress, segment.MemorySize))
        {
            throw new BootException(BootErrorKind.SegmentOutsideRam,
                $"{Name(index, segment)} is not inside guest RAM ({memory.RamSize / (1024 * 1024)} MiB).");
        }
    }

    private static bool Overlap(LoadSegment a, LoadSegment b)
        => a.PhysicalAddress < b.PhysicalEnd && b.PhysicalAddress < a.PhysicalEnd;

    private static string Name(int index, LoadSegment segment)
        => $"Kernel PT_LOAD #{index} [0x{segment.PhysicalAddress:x}, +0x{segment.MemorySize:x})";
}
