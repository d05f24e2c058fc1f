using System.Text;

namespace PvhVm.Core.Kernel;

/// <summary>Reads the x86 boot protocol setup header (Documentation/arch/x86/boot.rst) from the start of a bzImage.</summary>
internal static class SetupHeaderReader
{
    private const int MagicOffset = 0x202;
    private const uint HdrS = 0x53726448;   // "HdrS"
    private const int HeaderEnd = 0x268;    // through init_size, protocol 2.10+

    public static bool HasSetupMagic(ReadOnlySpan<byte> image)
        => image.Length >= MagicOffset + 4 && ElfReader.U32(image, MagicOffset) == HdrS;

    public static BzImageSetupHeader Read(ReadOnlySpan<byte> image)
    {
        if (!HasSetupMagic(image))
        {
            throw new ImageDataException(KernelImageErrorKind.NotAKernelImage, "no 'HdrS' setup header magic at 0x202");
        }

        if (image.Length < HeaderEnd)
        {
            throw new ImageDataException(KernelImageErrorKind.Truncated, "setup header cut short");
        }

        ushort version = ElfReader.U16(image, 0x206);
        // payload_offset/length arrived in protocol 2.08; earlier images carry no ELF to inspect.
        if (version < 0x0208)
        {
            throw new ImageDataException(KernelImageErrorKind.UnsupportedCompression,
                $"boot protocol {version >> 8}.{version & 0xff:D2} predates 2.08 and has no payload description");
        }

        return new BzImageSetupHeader(
            SetupSectors: image[0x1f1],
            ProtocolVersion: version,
            KernelVersion: KernelVersion(image),
            LoadFlags: image[0x211],
            Code32Start: ElfReader.U32(image, 0x214),
            KernelAlignment: ElfReader.U32(image, 0x230),
            RelocatableKernel: image[0x234] != 0,
            XLoadFlags: ElfReader.U16(image, 0x236),
            CommandLineSize: ElfReader.U32(image, 0x238),
            PayloadOffset: ElfReader.U32(image, 0x248),
            PayloadLength: ElfReader.U32(image, 0x24c),
            PreferredAddress: ElfReader.U64(image, 0x258),
            InitSize: ElfReader.U32(image, 0x260));
    }

    // kernel_version (0x20e) is an offset from 0x200 to a NUL-terminated string inside the setup code.
    private static string? KernelVersion(ReadOnlySpan<byte> image)
    {
        ushort pointer = ElfReader.U16(image, 0x20e);
        int start = pointer + 0x200;
        if (pointer == 0 || start >= image.Length)
        {
            return null;
        }

        var rest = image.Slice(start, Math.Min(256, image.Length - start));
        int end = rest.IndexOf((byte)0);
        return end <= 0 ? null : Encoding.ASCII.GetString(rest[..end]);
    }
}
