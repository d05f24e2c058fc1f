using System.Buffers.Binary;
using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>The whole bzImage path: the real vmlinux recompressed in every format inside the real setup header.</summary>
[Collection(DebianKernelCollection.Name)]
public sealed class BzImageTests(DebianKernelFixture kernel)
{
    public static TheoryData<KernelCompression> Formats => new(KernelCompressors.All);

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_real_vmlinux_in_every_format_inspects_like_the_vmlinux_itself(KernelCompression compression)
    {
        var image = BzImageBuilder.Wrap(File.ReadAllBytes(kernel.VmlinuzPath), CachedPayload(compression));
        var (vmlinux, info) = KernelImage.Parse("rewrapped", image);
        var expected = KernelInspector.Inspect(kernel.VmlinuxPath);

        Assert.Equal(KernelFormat.BzImage, info.Format);
        Assert.Equal(compression, info.Compression);
        Assert.True(File.ReadAllBytes(kernel.VmlinuxPath).AsSpan().SequenceEqual(vmlinux));
        Assert.Equal(expected.Segments, info.Segments);
        Assert.Equal(expected.Notes.Select(n => (n.Owner, n.Type, n.ValueText)), info.Notes.Select(n => (n.Owner, n.Type, n.ValueText)));
        Assert.Equal(expected.PvhEntryPoint, info.PvhEntryPoint);
        Assert.Equal(expected.LinuxVersion, info.LinuxVersion);
        Assert.Contains(kernel.PackageVersion, info.SetupHeader!.KernelVersion);
    }

    [Fact]
    public void An_unknown_payload_magic_is_unsupported_compression()
    {
        var image = BzImageBuilder.Wrap(File.ReadAllBytes(kernel.VmlinuzPath), [.. "PK\x03\x04zipped"u8, 0, 0, 0, 0]);
        Assert.Equal(KernelImageErrorKind.UnsupportedCompression, Rejection(image));
    }

    [Fact]
    public void A_payload_past_the_end_of_the_file_is_truncated()
    {
        var image = File.ReadAllBytes(kernel.VmlinuzPath);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x24c), (uint)image.Length);
        Assert.Equal(KernelImageErrorKind.Truncated, Rejection(image));
        Assert.Equal(KernelImageErrorKind.Truncated, Rejection(image[..0x300]));
    }

    [Fact]
    public void A_payload_that_is_not_an_elf_is_a_corrupt_header()
    {
        var text = "plain text, not an ELF image"u8.ToArray();
        var image = BzImageBuilder.Wrap(File.ReadAllBytes(kernel.VmlinuzPath), KernelCompressors.Payload(text, KernelCompressors.FastCommand(KernelCompression.Zstd)));
        Assert.Equal(KernelImageErrorKind.CorruptHeader, Rejection(image));
    }

    [Fact]
    public void A_boot_protocol_older_than_2_08_has_no_payload_to_inspect()
    {
        var image = File.ReadAllBytes(kernel.VmlinuzPath)[..0x4000];
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x206), 0x0204);
        Assert.Equal(KernelImageErrorKind.UnsupportedCompression, Rejection(image));
    }

    private static KernelImageErrorKind Rejection(byte[] image)
        => Assert.Throws<KernelImageException>(() => KernelImage.Parse("rewrapped", image)).Kind;

    // Compressing 50 MB takes seconds; keep each format's payload beside the kernel for later runs.
    private byte[] CachedPayload(KernelCompression compression)
    {
        string path = Path.Combine(kernel.CacheDirectory, $"vmlinux.payload.{compression.ToString().ToLowerInvariant()}");
        if (!File.Exists(path))
        {
            var payload = KernelCompressors.Payload(File.ReadAllBytes(kernel.VmlinuxPath), KernelCompressors.FastCommand(compression));
            string temporary = Path.Combine(kernel.CacheDirectory, $".payload-{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(temporary, payload);
            File.Move(temporary, path, overwrite: true);
        }

        return File.ReadAllBytes(path);
    }
}
