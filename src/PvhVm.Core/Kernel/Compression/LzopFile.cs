using System.Buffers.Binary;

namespace PvhVm.Core.Kernel;

/// <summary>
/// The lzop container the kernel's LZO payloads use (lib/decompress_unlzo.c): a header, then blocks of
/// {u32 BE decompressed size, u32 BE compressed size, optional checksums, data}, ended by a zero size.
/// Written by hand: no NuGet package reads lzop files. Adler-32 block checksums are verified; CRC-32 ones
/// are skipped, as the kernel skips all of them.
/// </summary>
internal static class LzopFile
{
    private static ReadOnlySpan<byte> Magic => [0x89, (byte)'L', (byte)'Z', (byte)'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

    // The kernel refuses larger blocks too (LZO_BLOCK_SIZE).
    private const int MaximumBlock = 256 * 1024;

    private const uint AdlerDecompressed = 0x1;
    private const uint AdlerCompressed = 0x2;
    private const uint ExtraField = 0x40;
    private const uint CrcDecompressed = 0x100;
    private const uint CrcCompressed = 0x200;
    private const uint Filter = 0x800;

    public static void Decompress(ReadOnlySpan<byte> input, OutputBuffer output)
    {
        var reader = new Reader(input);
        uint flags = ReadHeader(ref reader);
        while (true)
        {
            uint decompressedSize = reader.U32();
            if (decompressedSize == 0)
            {
                return;
            }

            uint compressedSize = reader.U32();
            if (decompressedSize > MaximumBlock || compressedSize > decompressedSize)
            {
                throw Damaged($"block sizes {compressedSize} -> {decompressedSize} are impossible");
            }

            uint? expectedAdler = (flags & AdlerDecompressed) != 0 ? reader.U32() : null;
            if ((flags & CrcDecompressed) != 0)
            {
                reader.Skip(4);
            }

            if (compressedSize < decompressedSize && (flags & (AdlerCompressed | CrcCompressed)) != 0)
            {
                reader.Skip(4);
            }

            if ((int)decompressedSize > output.Remaining)
            {
                throw Damaged("blocks expand beyond the declared size");
            }

            var data = reader.Take((int)compressedSize);
            var target = output.Free((int)decompressedSize)[..(int)decompressedSize];
            if (compressedSize == decompressedSize)
            {
                data.CopyTo(target);   // stored uncompressed
            }
            else
            {
                // lzop compresses every block on its own, so back-references stay inside the block.
                int written = Lzo1xDecoder.Decode(data, target);
                if (written != decompressedSize)
                {
                    throw Damaged($"an LZO block expanded to {written} bytes instead of {decompressedSize}");
                }
            }

            if (expectedAdler is { } adler && Adler32(target) != adler)
            {
                throw Damaged("an LZO block fails its Adler-32 checksum");
            }

            output.Advance((int)decompressedSize);
        }
    }

    private static uint ReadHeader(ref Reader reader)
    {
        if (!reader.Take(Magic.Length).SequenceEqual(Magic))
        {
            throw Damaged("no lzop magic");
        }

        ushort version = reader.U16();
        reader.Skip(2);                                   // library version
        if (version >= 0x0940)
        {
            reader.Skip(2);                               // version needed to extract
        }

        byte method = reader.Take(1)[0];
        if (method is not (1 or 2 or 3))
        {
            throw new ImageDataException(KernelImageErrorKind.UnsupportedCompression, $"lzop method {method} is not LZO1X");
        }

        if (version >= 0x0940)
        {
            reader.Skip(1);                               // level
        }

        uint flags = reader.U32();
        if ((flags & Filter) != 0)
        {
            reader.Skip(4);
        }

        reader.Skip(8);                                   // mode, mtime low
        if (version >= 0x0940)
        {
            reader.Skip(4);                               // mtime high
        }

        reader.Skip(reader.Take(1)[0]);                   // file name
        reader.Skip(4);                                   // header checksum
        if ((flags & ExtraField) != 0)
        {
            reader.Skip((int)Math.Min(reader.U32(), int.MaxValue));
            reader.Skip(4);
        }

        return flags;
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Modulus = 65521;
        uint a = 1, b = 0;
        while (data.Length > 0)
        {
            // 5552 bytes is the most that can be summed before b can overflow 32 bits.
            int chunk = Math.Min(data.Length, 5552);
            foreach (byte value in data[..chunk])
            {
                a += value;
                b += a;
            }

            a %= Modulus;
            b %= Modulus;
            data = data[chunk..];
        }

        return (b << 16) | a;
    }

    private static ImageDataException Damaged(string message) => new(KernelImageErrorKind.DecompressionFailed, $"LZO payload: {message}");

    /// <summary>Big-endian, bounds-checked reads over the payload.</summary>
    private ref struct Reader(ReadOnlySpan<byte> input)
    {
        private ReadOnlySpan<byte> _rest = input;

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _rest.Length)
            {
                throw Damaged("stream cut short");
            }

            var taken = _rest[..count];
            _rest = _rest[count..];
            return taken;
        }

        public void Skip(int count) => Take(count);

        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));
    }
}
