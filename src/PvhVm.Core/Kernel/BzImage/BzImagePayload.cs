namespace PvhVm.Core.Kernel;

/// <summary>Locates the compressed vmlinux inside a bzImage and expands it.</summary>
internal static class BzImagePayload
{
    public static ReadOnlySpan<byte> Locate(ReadOnlySpan<byte> image, BzImageSetupHeader header)
    {
        ulong start = (ulong)header.ProtectedModeOffset + header.PayloadOffset;
        if (header.PayloadLength == 0)
        {
            throw new ImageDataException(KernelImageErrorKind.CorruptHeader, "payload_length is 0");
        }

        if (!ElfReader.FitsIn(image, start, header.PayloadLength))
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated,
                $"payload at 0x{start:x}+0x{header.PayloadLength:x} runs past the end of the file (0x{image.Length:x} bytes)");
        }

        return image.Slice((int)start, (int)header.PayloadLength);
    }
}
