namespace PvhVm.Core.Kernel;

/// <summary>Recognises a bzImage payload's compression by its leading magic bytes, as the kernel's own decompress.c does.</summary>
internal static class PayloadFormat
{
    public static KernelCompression? Detect(ReadOnlySpan<byte> payload) => payload switch
    {
        [0x1f, 0x8b, ..] or [0x1f, 0x9e, ..] => KernelCompression.Gzip,
        [(byte)'B', (byte)'Z', (byte)'h', ..] => KernelCompression.Bzip2,
        [0x5d, 0x00, 0x00, ..] => KernelCompression.Lzma,
        [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00, ..] => KernelCompression.Xz,
        [0x89, (byte)'L', (byte)'Z', (byte)'O', 0x00, ..] => KernelCompression.Lzo,
        [0x02, 0x21, 0x4c, 0x18, ..] => KernelCompression.Lz4,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => KernelCompression.Zstd,
        _ => null,
    };
}
