using System.Management.Automation;
using PvhVm.Core.Kernel;

namespace PvhVm.Module;

/// <summary>The error id and category each <see cref="KernelImageErrorKind"/> surfaces as, for every cmdlet that reads kernels.</summary>
internal static class KernelImageErrors
{
    public static ErrorRecord Record(KernelImageException exception) => ErrorRecordFactory.Create(
        exception,
        exception.Kind switch
        {
            KernelImageErrorKind.NotFound => "KernelImageNotFound",
            KernelImageErrorKind.NotAFile => "KernelImageNotAFile",
            KernelImageErrorKind.NotAKernelImage => "NotAKernelImage",
            KernelImageErrorKind.Truncated => "KernelImageTruncated",
            KernelImageErrorKind.CorruptHeader => "KernelImageCorruptHeader",
            KernelImageErrorKind.NoteOverrun => "KernelNoteOverrun",
            KernelImageErrorKind.DecompressionFailed => "KernelDecompressionFailed",
            KernelImageErrorKind.UnsupportedCompression => "KernelUnsupportedCompression",
            KernelImageErrorKind.TooLarge => "KernelImageTooLarge",
            _ => "KernelImageUnreadable",
        },
        exception.Kind switch
        {
            KernelImageErrorKind.NotFound => ErrorCategory.ObjectNotFound,
            KernelImageErrorKind.NotAFile => ErrorCategory.InvalidArgument,
            KernelImageErrorKind.UnsupportedCompression => ErrorCategory.NotImplemented,
            KernelImageErrorKind.TooLarge => ErrorCategory.LimitsExceeded,
            KernelImageErrorKind.Unreadable => ErrorCategory.ReadError,
            _ => ErrorCategory.InvalidData,
        },
        exception.Path);
}
