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
    InitrdUnreadable,
    InitrdTooLarge,
    CommandLineTooLong,
    InvalidProcessorCount,
}
