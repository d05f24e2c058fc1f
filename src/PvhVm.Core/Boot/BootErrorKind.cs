namespace PvhVm.Core.Boot;

/// <summary>Why a kernel could not be laid out in guest memory. Each is detected before any vCPU runs.</summary>
public enum BootErrorKind
{
    NotPvhBootable,
    SegmentOutsideRam,
    SegmentInMmioHole,
    SegmentOverlapsBootData,
    SegmentsOverlap,
    EntryOutsideSegments,
    MemoryTooSmall,
    InitrdNotFound,

    /// <summary>Not a regular file (directory, FIFO, device), empty, not permitted, or it shrank while being read.</summary>
    InitrdUnreadable,
    InitrdTooLarge,
    CommandLineTooLong,
    InvalidProcessorCount,

    /// <summary>A PT_LOAD whose file size exceeds its memory size, or whose file bytes exceed 2 GiB.</summary>
    InvalidSegment,

    /// <summary>The command line contains a NUL character, which would silently cut it short.</summary>
    InvalidCommandLine,

    /// <summary>More guest RAM than the host has: a guest touching it all would get the host process killed.</summary>
    MemoryTooLarge,

    /// <summary>More disks (and entropy source) than the machine has virtio-mmio slots for.</summary>
    TooManyDevices,
}
