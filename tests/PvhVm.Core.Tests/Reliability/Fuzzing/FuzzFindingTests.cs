using System.Buffers.Binary;
using PvhVm.Core.Kernel;
using PvhVm.Core.Tests.Guests;

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
