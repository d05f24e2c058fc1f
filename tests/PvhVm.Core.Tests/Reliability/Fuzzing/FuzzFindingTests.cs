using System.Buffers.Binary;
using PvhVm.Core.Kernel;
using PvhVm.Core.Tests.Guests;
using PvhVm.Core.Tests.Kernel;

namespace PvhVm.Core.Tests.Reliability.Fuzzing;

/// <summary>
/// Each crash the fuzzer found, rebuilt by hand from a probe guest as a fixed regression input. The reader must take
/// the input as it takes any other: a <see cref="BootInfo"/> or a <see cref="KernelImageException"/>, nothing else.
/// </summary>
public sealed class FuzzFindingTests
{
    /// <summary>
    /// Found at seed 4 of the slow campaign: a section named .rodata with sh_type SHT_NULL (whose offset and size the
    /// ELF reader, rightly, does not check) and sh_offset 0xffff past the end of the file. The banner search sliced it
    /// and threw ArgumentOutOfRangeException.
    /// </summary>
    [Fact]
    public void RodataOfTypeNullPointingPastTheFileIsIgnored()
    {
        var image = File.ReadAllBytes(GuestImages.PathOf("probe"));
        int rodata = SectionHeader(image, ".rodata");
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(rodata + 4), 0);         // sh_type = SHT_NULL
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(rodata + 24), 0xffff);   // sh_offset past the end

        var info = Inspect(image);
        Assert.True(info.IsPvhBootable);
    }

    /// <summary>
    /// Found by the slow campaign (seeds 1 and 3, after zstd moved to one-shot decoding): a 2 KiB bzImage whose zstd
    /// payload declares 449,363,984 decompressed bytes made the reader allocate all of them before decoding a byte.
    /// The declared size is a length field; output may only grow with the bytes actually produced.
    /// </summary>
    [Fact]
    public void ZstdPayloadDeclaringHundredsOfMegabytesAllocatesNoMoreThanItProduces()
    {
        var elf = File.ReadAllBytes(GuestImages.PathOf("notes"));
        var payload = KernelCompressors.Payload(elf, ["zstd", "-22", "--ultra"]);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(payload.Length - 4), 449_363_984);

        using var target = new FuzzTarget();
        var outcome = target.Run(FuzzCorpus.WrapInBzImage(payload));
        Assert.Equal(KernelImageErrorKind.DecompressionFailed, outcome.Kind);
        Assert.True(outcome.AllocatedBytes < 16L << 20, $"{outcome.AllocatedBytes} bytes allocated for a {payload.Length}-byte payload");
    }

    private static BootInfo Inspect(byte[] image)
    {
        using var target = new FuzzTarget();
        File.WriteAllBytes(target.InputPath, image);
        return KernelInspector.Inspect(target.InputPath);
    }

    /// <summary>The file offset of the ELF64 section header with this name.</summary>
    private static int SectionHeader(byte[] image, string name)
    {
        int table = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(40));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(60));
        int names = table + (BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(62)) * 64);
        int namesOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(names + 24));
        for (int i = 0; i < count; i++)
        {
            int header = table + (i * 64);
            int nameAt = namesOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(header));
            int end = Array.IndexOf(image, (byte)0, nameAt);
            if (System.Text.Encoding.ASCII.GetString(image, nameAt, end - nameAt) == name)
            {
                return header;
            }
        }

        throw new InvalidOperationException($"no section {name}");
    }
}
