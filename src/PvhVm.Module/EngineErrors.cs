using System.Management.Automation;
using PvhVm.Control;
using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Devices.Virtio.Vsock;
using PvhVm.Core.Host;
using PvhVm.Core.Kernel;
using PvhVm.Core.Kvm;

namespace PvhVm.Module;

/// <summary>An error id a user sees, and its category.</summary>
internal readonly record struct ErrorIdentity(string Id, ErrorCategory Category);

/// <summary>
/// The one map from what the engine throws (exception type and kind) to the error id and category every cmdlet
/// reports. The ids are the module's interface: scripts match on them, so each stays as written here. Every kind
/// has its entry (tests/Pester/Errors.Tests.ps1 pins each one), so a kind added to Core fails that test until it has one.
/// </summary>
internal static class EngineErrors
{
    private static readonly Dictionary<KernelImageErrorKind, ErrorIdentity> KernelImage = new()
    {
        [KernelImageErrorKind.NotFound] = new("KernelImageNotFound", ErrorCategory.ObjectNotFound),
        [KernelImageErrorKind.NotAFile] = new("KernelImageNotAFile", ErrorCategory.InvalidArgument),
        [KernelImageErrorKind.NotAKernelImage] = new("NotAKernelImage", ErrorCategory.InvalidData),
        [KernelImageErrorKind.Truncated] = new("KernelImageTruncated", ErrorCategory.InvalidData),
        [KernelImageErrorKind.CorruptHeader] = new("KernelImageCorruptHeader", ErrorCategory.InvalidData),
        [KernelImageErrorKind.NoteOverrun] = new("KernelNoteOverrun", ErrorCategory.InvalidData),
        [KernelImageErrorKind.DecompressionFailed] = new("KernelDecompressionFailed", ErrorCategory.InvalidData),
        [KernelImageErrorKind.UnsupportedCompression] = new("KernelUnsupportedCompression", ErrorCategory.NotImplemented),
        [KernelImageErrorKind.TooLarge] = new("KernelImageTooLarge", ErrorCategory.LimitsExceeded),
        [KernelImageErrorKind.Unreadable] = new("KernelImageUnreadable", ErrorCategory.ReadError),
    };

    private static readonly Dictionary<BootErrorKind, ErrorIdentity> Boot = new()
    {
        [BootErrorKind.NotPvhBootable] = new("NotPvhBootable", ErrorCategory.InvalidData),

        // The kernel contradicts itself or the PVH layout: no parameter fixes it.
        [BootErrorKind.SegmentInMmioHole] = new("BootFailedSegmentInMmioHole", ErrorCategory.InvalidData),
        [BootErrorKind.SegmentOverlapsBootData] = new("BootFailedSegmentOverlapsBootData", ErrorCategory.InvalidData),
        [BootErrorKind.SegmentsOverlap] = new("BootFailedSegmentsOverlap", ErrorCategory.InvalidData),
        [BootErrorKind.EntryOutsideSegments] = new("BootFailedEntryOutsideSegments", ErrorCategory.InvalidData),
        [BootErrorKind.InvalidSegment] = new("BootFailedInvalidSegment", ErrorCategory.InvalidData),

        // A parameter of New-PvhVm is wrong for this kernel or host.
        [BootErrorKind.SegmentOutsideRam] = new("BootFailedSegmentOutsideRam", ErrorCategory.InvalidArgument),
        [BootErrorKind.MemoryTooSmall] = new("BootFailedMemoryTooSmall", ErrorCategory.InvalidArgument),
        [BootErrorKind.InvalidProcessorCount] = new("BootFailedInvalidProcessorCount", ErrorCategory.InvalidArgument),
        [BootErrorKind.InvalidCommandLine] = new("BootFailedInvalidCommandLine", ErrorCategory.InvalidArgument),
        [BootErrorKind.MemoryTooLarge] = new("BootFailedMemoryTooLarge", ErrorCategory.LimitsExceeded),
        [BootErrorKind.CommandLineTooLong] = new("BootFailedCommandLineTooLong", ErrorCategory.LimitsExceeded),
        [BootErrorKind.InitrdTooLarge] = new("BootFailedInitrdTooLarge", ErrorCategory.LimitsExceeded),
        [BootErrorKind.InitrdNotFound] = new("BootFailedInitrdNotFound", ErrorCategory.ObjectNotFound),
        [BootErrorKind.InitrdUnreadable] = new("BootFailedInitrdUnreadable", ErrorCategory.ReadError),
        [BootErrorKind.TooManyDevices] = new("TooManyDevices", ErrorCategory.LimitsExceeded),
    };

    private static readonly Dictionary<DiskImageProblem, ErrorIdentity> DiskImage = new()
    {
        [DiskImageProblem.NotFound] = new("DiskImageNotFound", ErrorCategory.ObjectNotFound),
        [DiskImageProblem.NotAccessible] = new("DiskImageNotAccessible", ErrorCategory.PermissionDenied),
        [DiskImageProblem.NotARegularFile] = new("DiskImageNotAFile", ErrorCategory.InvalidArgument),
        [DiskImageProblem.TooSmall] = new("DiskImageTooSmall", ErrorCategory.InvalidData),
        [DiskImageProblem.Locked] = new("DiskImageInUse", ErrorCategory.ResourceBusy),
        [DiskImageProblem.AlreadyAttached] = new("DiskAlreadyAttached", ErrorCategory.ResourceExists),
    };

    private static readonly Dictionary<TapProblem, ErrorIdentity> Tap = new()
    {
        [TapProblem.InvalidName] = new("TapNameInvalid", ErrorCategory.InvalidArgument),
        [TapProblem.AlreadyAttached] = new("NetworkAdapterAlreadyAttached", ErrorCategory.ResourceExists),
        [TapProblem.Unavailable] = new("TapUnavailable", ErrorCategory.ResourceUnavailable),
    };

    private static readonly Dictionary<HostResource, ErrorIdentity> HostResources = new()
    {
        [HostResource.Threads] = new("HostThreadsExhausted", ErrorCategory.ResourceUnavailable),
        [HostResource.FileDescriptors] = new("HostDescriptorsExhausted", ErrorCategory.ResourceUnavailable),
        [HostResource.Memory] = new("HostMemoryExhausted", ErrorCategory.ResourceUnavailable),
    };

    private static readonly Dictionary<CheckpointErrorKind, ErrorIdentity> Checkpoints = new()
    {
        [CheckpointErrorKind.UnsupportedDevice] = new("CheckpointUnsupportedDevice", ErrorCategory.NotImplemented),
        [CheckpointErrorKind.PauseTimeout] = new("PauseTimeout", ErrorCategory.OperationTimeout),
        [CheckpointErrorKind.FolderNotEmpty] = new("CheckpointFolderNotEmpty", ErrorCategory.ResourceExists),
        [CheckpointErrorKind.ManifestMissing] = new("CheckpointNotFound", ErrorCategory.ObjectNotFound),
        [CheckpointErrorKind.ManifestInvalid] = new("CheckpointManifestInvalid", ErrorCategory.InvalidData),
        [CheckpointErrorKind.UnsupportedVersion] = new("CheckpointVersionUnsupported", ErrorCategory.InvalidData),
        [CheckpointErrorKind.StateCorrupt] = new("CheckpointStateCorrupt", ErrorCategory.InvalidData),
        [CheckpointErrorKind.MemoryTruncated] = new("CheckpointMemoryTruncated", ErrorCategory.InvalidData),
        [CheckpointErrorKind.StateRejected] = new("CheckpointStateRejected", ErrorCategory.InvalidData),
        [CheckpointErrorKind.WritableDiskNeedsImage] = new("CheckpointWritableDiskNeedsImage", ErrorCategory.InvalidArgument),
        [CheckpointErrorKind.DiskMismatch] = new("CheckpointDiskMismatch", ErrorCategory.InvalidData),
    };

    /// <summary>-MemoryLimitMB or -CpuQuotaPercent on a host whose cgroup v1 hierarchy is missing, read-only or not this user's.</summary>
    private static readonly ErrorIdentity CgroupNotWritable = new("CgroupNotWritable", ErrorCategory.ResourceUnavailable);

    /// <summary>The id and category <paramref name="exception"/> surfaces as.</summary>
    public static ErrorIdentity Identify(Exception exception) => exception switch
    {
        HostApiException e => IdentifyHostError(e),
        KernelImageException e => KernelImage[e.Kind],
        BootException e => Boot[e.Kind],
        DiskImageException e => DiskImage[e.Problem],
        TapException e => Tap[e.Problem],
        VsockException => new("VsockSocketUnavailable", ErrorCategory.ResourceUnavailable),
        CgroupUnavailableException => CgroupNotWritable,
        HostOutOfMemoryException => new("HostMemoryLimitTooLow", ErrorCategory.LimitsExceeded),
        HostResourceException e => HostResources[e.Resource],
        CheckpointException e => Checkpoints[e.Kind],
        KvmException { IsHostUnavailable: true, Errno: KvmException.EACCES or KvmException.EPERM } => new("KvmUnavailable", ErrorCategory.PermissionDenied),
        KvmException { IsHostUnavailable: true } => new("KvmUnavailable", ErrorCategory.ResourceUnavailable),
        KvmException => new("KvmFailed", ErrorCategory.DeviceError),
        FileNotFoundException or DirectoryNotFoundException => new("PathNotFound", ErrorCategory.ObjectNotFound),
        UnauthorizedAccessException => new("PathAccessDenied", ErrorCategory.PermissionDenied),
        InvalidOperationException => new("InvalidVmState", ErrorCategory.InvalidOperation),
        ArgumentException => new("InvalidVmConfig", ErrorCategory.InvalidArgument),
        _ => new("VmOperationFailed", ErrorCategory.NotSpecified),
    };

    /// <summary>
    /// What a host process's engine threw, as the host reported it (the exception's type and kind by name): the same id
    /// the in-process engine's exception gets, so a script matches one id whichever process runs the VM.
    /// </summary>
    private static ErrorIdentity IdentifyHostError(HostApiException exception)
    {
        var error = exception.Error;
        return error.Type switch
        {
            nameof(KernelImageException) when Enum.TryParse<KernelImageErrorKind>(error.Kind, out var kind) => KernelImage[kind],
            nameof(BootException) when Enum.TryParse<BootErrorKind>(error.Kind, out var kind) => Boot[kind],
            nameof(DiskImageException) when Enum.TryParse<DiskImageProblem>(error.Kind, out var problem) => DiskImage[problem],
            nameof(TapException) when Enum.TryParse<TapProblem>(error.Kind, out var problem) => Tap[problem],
            nameof(HostResourceException) when Enum.TryParse<HostResource>(error.Kind, out var resource) => HostResources[resource],
            nameof(CheckpointException) when Enum.TryParse<CheckpointErrorKind>(error.Kind, out var kind) => Checkpoints[kind],
            nameof(VsockException) => new("VsockSocketUnavailable", ErrorCategory.ResourceUnavailable),
            nameof(UnauthorizedAccessException) => new("PathAccessDenied", ErrorCategory.PermissionDenied),
            nameof(CgroupUnavailableException) => CgroupNotWritable,
            nameof(KvmException) when exception.StatusCode == 503 => new("KvmUnavailable",
                error.Errno is KvmException.EACCES or KvmException.EPERM ? ErrorCategory.PermissionDenied : ErrorCategory.ResourceUnavailable),
            nameof(KvmException) => new("KvmFailed", ErrorCategory.DeviceError),
            "InvalidOperation" => new("InvalidVmState", ErrorCategory.InvalidOperation),
            nameof(ArgumentException) => new("InvalidVmConfig", ErrorCategory.InvalidArgument),
            _ => new("VmOperationFailed", ErrorCategory.NotSpecified),
        };
    }

    /// <summary>What the user can do about it, where the engine knows (from a host process's report as well as in-process).</summary>
    private static string? RecommendedAction(Exception exception, string id) => exception switch
    {
        KvmException { IsHostUnavailable: true } e => KvmHost.DescribeRemedy(e),
        HostApiException { Error: { Type: nameof(KvmException), Errno: { } errno } error } when id == "KvmUnavailable" =>
            KvmHost.DescribeRemedy(new KvmException(error.Operation ?? "open", errno)),
        HostResourceException e => HostResourceException.Remedy(e.Resource),
        HostApiException { Error: { Type: nameof(HostResourceException) } error } when Enum.TryParse<HostResource>(error.Kind, out var resource) =>
            HostResourceException.Remedy(resource),
        _ => id switch
        {
            "DiskImageInUse" =>
                "Stop the VM (or other program) that has the image open, or attach it read-only everywhere (-ReadOnlyDiskPath, Add-PvhVmDisk -ReadOnly).",
            "TapUnavailable" =>
                "Run as root or with CAP_NET_ADMIN, or have an administrator make the tap for you: ip tuntap add dev <name> mode tap user <you>.",
            "VsockSocketUnavailable" =>
                "Remove a stale socket left by a VM that did not stop cleanly, or give New-PvhVm a -VsockPath in a directory you own.",
            "HostMemoryLimitTooLow" =>
                "Raise -MemoryLimitMB: the host program needs a few MiB of its own (docs/HOST.md) above the guest memory the guest touches.",
            "CgroupNotWritable" =>
                "Create the VM without -MemoryLimitMB and -CpuQuotaPercent, or run where the cgroup v1 memory and cpu hierarchies are mounted read-write and writable by you (docs/HOST.md).",
            _ => null,
        },
    };

    /// <summary>The ErrorRecord for what the engine threw about <paramref name="target"/> (a VM, its name, or a kernel path).</summary>
    public static ErrorRecord Record(Exception exception, object? target)
    {
        var (id, category) = Identify(exception);
        return ErrorRecordFactory.Create(exception, id, category, target, RecommendedAction(exception, id));
    }
}
