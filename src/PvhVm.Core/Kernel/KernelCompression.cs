namespace PvhVm.Core.Kernel;

/// <summary>How a bzImage payload is compressed (None for a bare ELF).</summary>
public enum KernelCompression
{
    None,
    Gzip,
    Bzip2,
    Lzma,
    Xz,
    Lzo,
    Lz4,
    Zstd,
}
