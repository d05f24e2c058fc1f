using System.IO.Compression;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;
using ZstdSharp;

namespace PvhVm.Core.Kernel;

/// <summary>
/// Expands a bzImage payload to the vmlinux ELF. The kernel build appends the decompressed size as a
/// little-endian u32 to every payload (gzip's own trailer is that size too); output must match it exactly
/// and may not exceed <see cref="MaximumOutput"/>.
/// </summary>
internal static class PayloadDecompressor
{
    public const int MaximumOutput = 512 << 20;

    // Kernel payloads compress 3-8x; the first allocation assumes at most this much and grows with real output.
    private const int ExpectedRatio = 8;

    // Large reads let the stream decoders work in long runs instead of many small calls.
    private const int ReadChunk = 1 << 20;

    public static byte[] Decompress(ReadOnlySpan<byte> payload, KernelCompression compression)
    {
        if (payload.Length < 8)
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, "payload too short to hold compressed data and its size");
        }

        uint declared = ElfReader.U32(payload, payload.Length - 4);
        if (declared > MaximumOutput)
        {
            throw new ImageDataException(KernelImageErrorKind.TooLarge, $"payload declares {declared} decompressed bytes, above the {MaximumOutput} limit");
        }

        var output = new OutputBuffer((int)Math.Min((long)payload.Length * ExpectedRatio, declared), (int)declared);
        var stream = compression == KernelCompression.Gzip ? payload : payload[..^4];
        try
        {
            switch (compression)
            {
                case KernelCompression.Lz4:
                    LegacyLz4.Decompress(stream, output);
                    break;
                case KernelCompression.Lzo:
                    LzopFile.Decompress(stream, output);
                    break;
                case KernelCompression.Zstd when declared <= (long)stream.Length * ExpectedRatio:
                    // One shot into the declared size: several times faster than ZstdSharp's stream. Only for sizes a real
                    // kernel's ratio explains: else the size field alone would decide how much is allocated up front.
                    using (var zstd = new Decompressor())
                    {
                        output.Advance(zstd.Unwrap(stream, output.Free(output.Remaining)));
                    }

                    break;
                default:
                    unsafe
                    {
                        fixed (byte* bytes = stream)
                        {
                            using var input = new UnmanagedMemoryStream(bytes, stream.Length);
                            using var decoder = OpenStream(compression, input, stream, declared);
                            Drain(decoder, output);
                        }
                    }

                    break;
            }
        }
        catch (ImageDataException)
        {
            throw;
        }
        catch (Exception e)
        {
            // Third-party decoders signal damaged input with assorted exception types.
            throw new ImageDataException(KernelImageErrorKind.DecompressionFailed, $"{compression} payload is damaged: {e.Message}", e);
        }

        if (output.Length != declared)
        {
            throw new ImageDataException(KernelImageErrorKind.DecompressionFailed,
                $"{compression} payload expanded to {output.Length} bytes, but declares {declared}");
        }

        return output.ToArray();
    }

    private static Stream OpenStream(KernelCompression compression, Stream input, ReadOnlySpan<byte> stream, uint declared) => compression switch
    {
        KernelCompression.Gzip => new GZipStream(input, CompressionMode.Decompress),
        KernelCompression.Bzip2 => BZip2Stream.Create(input, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: false),
        KernelCompression.Lzma => OpenLzma(input, stream, declared),
        KernelCompression.Xz => new XZStream(input),
        KernelCompression.Zstd => new DecompressionStream(input),
        _ => throw new ImageDataException(KernelImageErrorKind.UnsupportedCompression, $"no decoder for {compression}"),
    };

    // The .lzma "alone" header: 5 property bytes, then a u64 size that the kernel build leaves as -1 (unknown).
    private static Stream OpenLzma(Stream input, ReadOnlySpan<byte> stream, uint declared)
    {
        if (stream.Length < 13)
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, "LZMA header cut short");
        }

        var properties = stream[..5].ToArray();
        input.Position = 13;
        return LzmaStream.Create(properties, input, stream.Length - 13, declared);
    }

    // Reads until the decoder ends; one byte beyond the declared size is an error, not a reason to keep reading.
    private static void Drain(Stream decoder, OutputBuffer output)
    {
        while (true)
        {
            if (output.Remaining == 0)
            {
                Span<byte> probe = stackalloc byte[1];
                if (decoder.Read(probe) != 0)
                {
                    throw new ImageDataException(KernelImageErrorKind.DecompressionFailed, "payload expands beyond its declared size");
                }

                return;
            }

            int read = decoder.Read(output.Free(ReadChunk));
            if (read == 0)
            {
                return;
            }

            output.Advance(read);
        }
    }
}
