using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Our decompressors against the real command-line compressors, with the kernel's own flags.</summary>
[Collection(DebianKernelCollection.Name)]
public sealed class PayloadDecompressorTests(DebianKernelFixture kernel)
{
    public static TheoryData<KernelCompression> Formats => new(KernelCompressors.All);

    [Theory]
    [MemberData(nameof(Formats))]
    public void Kernel_flags_payload_round_trips_exactly(KernelCompression compression)
    {
        var sample = Sample();
        var payload = KernelCompressors.Payload(sample, KernelCompressors.KernelCommand(compression));
        Assert.Equal(compression, PayloadFormat.Detect(payload));
        Assert.True(sample.AsSpan().SequenceEqual(PayloadDecompressor.Decompress(payload, compression)));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_payload_cut_short_fails_to_decompress(KernelCompression compression)
    {
        var sample = Sample();
        var payload = KernelCompressors.Payload(sample, KernelCompressors.FastCommand(compression));
        var cut = new byte[payload.Length / 2 + 4];
        payload.AsSpan(0, payload.Length / 2).CopyTo(cut);
        BitConverter.GetBytes((uint)sample.Length).CopyTo(cut, cut.Length - 4);
        var error = Assert.Throws<ImageDataException>(() => PayloadDecompressor.Decompress(cut, compression));
        Assert.Equal(KernelImageErrorKind.DecompressionFailed, error.Kind);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_declared_size_that_lies_fails_either_way(KernelCompression compression)
    {
        var sample = Sample();
        var payload = KernelCompressors.Payload(sample, KernelCompressors.FastCommand(compression));
        foreach (int declared in new[] { sample.Length - 1, sample.Length + 1 })
        {
            BitConverter.GetBytes((uint)declared).CopyTo(payload, payload.Length - 4);
            var error = Assert.Throws<ImageDataException>(() => PayloadDecompressor.Decompress(payload, compression));
            Assert.Equal(KernelImageErrorKind.DecompressionFailed, error.Kind);
        }
    }

    [Fact]
    public void A_declared_size_above_the_limit_is_too_large_before_any_allocation()
    {
        var payload = KernelCompressors.Payload(new byte[1000], KernelCompressors.FastCommand(KernelCompression.Lz4));
        BitConverter.GetBytes(uint.MaxValue).CopyTo(payload, payload.Length - 4);
        var error = Assert.Throws<ImageDataException>(() => PayloadDecompressor.Decompress(payload, KernelCompression.Lz4));
        Assert.Equal(KernelImageErrorKind.TooLarge, error.Kind);
    }

    // 2 MiB of real kernel code (LZO/LZ4 match variety), 256 KiB of noise (stored blocks), 1 MiB of zeros (long runs).
    private byte[] Sample()
    {
        var sample = new byte[(2 << 20) + (256 << 10) + (1 << 20)];
        using (var vmlinux = File.OpenRead(kernel.VmlinuxPath))
        {
            vmlinux.Position = 0x200000;
            vmlinux.ReadExactly(sample, 0, 2 << 20);
        }

        new Random(3).NextBytes(sample.AsSpan(2 << 20, 256 << 10));
        return sample;
    }
}
