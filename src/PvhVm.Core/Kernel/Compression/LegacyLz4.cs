using K4os.Compression.LZ4;

namespace PvhVm.Core.Kernel;

/// <summary>
/// The LZ4 "legacy" framing that `lz4 -l` writes and the kernel uses (lib/decompress_unlz4.c):
/// magic 0x184C2102, then blocks of {u32 compressed size, LZ4 block} that each expand to at most 8 MiB.
/// Written by hand because no library reads this framing; the blocks themselves go to K4os.Compression.LZ4.
/// </summary>
internal static class LegacyLz4
{
    private const uint Magic = 0x184C2102;
    private const int MaximumBlockOutput = 8 << 20;

    public static void Decompress(ReadOnlySpan<byte> input, OutputBuffer output)
    {
        int maximumBlockInput = LZ4Codec.MaximumOutputSize(MaximumBlockOutput);
        int position = 0;
        while (position < input.Length)
        {
            if (input.Length - position < 4)
            {
                throw new ImageDataException(KernelImageErrorKind.DecompressionFailed, "LZ4 block size cut short");
            }

            uint size = ElfReader.U32(input, position);
            position += 4;
            if (size == Magic)
            {
                continue;   // a new legacy frame starts (concatenated streams)
            }

            if (size > (uint)maximumBlockInput || size > (uint)(input.Length - position))
            {
                throw new ImageDataException(KernelImageErrorKind.DecompressionFailed, $"LZ4 block of {size} bytes at +0x{position - 4:x} is impossible or runs past the payload");
            }

            var target = output.Free(MaximumBlockOutput);
            int written = LZ4Codec.Decode(input.Slice(position, (int)size), target);
            if (written < 0)
            {
                throw new ImageDataException(KernelImageErrorKind.DecompressionFailed, $"LZ4 block at +0x{position - 4:x} is damaged or expands beyond the declared size");
            }

            output.Advance(written);
            position += (int)size;
        }
    }
}
