namespace PvhVm.Core.Kernel;

/// <summary>Why an image could not be read; each kind maps to one PowerShell error id.</summary>
public enum KernelImageErrorKind
{
    /// <summary>No file at the path.</summary>
    NotFound,

    /// <summary>The path names a directory, FIFO, socket or device rather than a regular file.</summary>
    NotAFile,

    /// <summary>Neither an ELF nor a bzImage.</summary>
    NotAKernelImage,

    /// <summary>A header, table or segment points past the end of the file.</summary>
    Truncated,

    /// <summary>Header fields contradict each other or the format.</summary>
    CorruptHeader,

    /// <summary>An ELF note's name or descriptor runs past the end of its note region.</summary>
    NoteOverrun,

    /// <summary>The compressed payload is damaged.</summary>
    DecompressionFailed,

    /// <summary>The payload uses a compression this reader does not know.</summary>
    UnsupportedCompression,

    /// <summary>The image, or its decompressed payload, exceeds the size limit.</summary>
    TooLarge,

    /// <summary>The file exists but cannot be read (permissions, I/O error).</summary>
    Unreadable,
}
