using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Boot;

/// <summary>A synthetic kernel: PT_LOAD segments with their file bytes held in memory.</summary>
internal sealed class TestKernel : ILoadableKernel
{
    public const uint Executable = 1, Writable = 2, Readable = 4;

    private readonly Dictionary<LoadSegment, byte[]> _bytes = [];
    private readonly List<LoadSegment> _segments = [];

    public TestKernel(uint? entry)
    {
        PvhEntryPoint = entry;
    }

    public string Path => "synthetic-kernel.elf";

    public uint? PvhEntryPoint { get; }

    public int? CommandLineLimit { get; init; }

    public IReadOnlyList<LoadSegment> LoadSegments => _segments;

    /// <summary>The usual test kernel: text at 16 MiB with a bss tail, data at 32 MiB with a large bss.</summary>
    public static TestKernel Standard()
        => new TestKernel(entry: 0x100_0100)
            .With(0x100_0000, RandomBytes(0x3000, seed: 1), memorySize: 0x5000, Readable | Executable)
            .With(0x200_0000, RandomBytes(0x1000, seed: 2), memorySize: 0x10_0000, Readable | Writable);

    public static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Adds a segment whose file bytes are <paramref name="bytes"/>.</summary>
    public TestKernel With(ulong address, byte[] bytes, ulong memorySize, uint flags)
        => With(new LoadSegment(address, 0xFFFF_FFFF_8000_0000 + address, 0x1000, (ulong)bytes.Length, memorySize, flags), bytes);

    /// <summary>Adds a raw program header (for hostile values); file bytes are zeros when small enough to exist.</summary>
    public TestKernel With(LoadSegment segment, byte[]? bytes = null)
    {
        _segments.Add(segment);
        _bytes[segment] = bytes ?? (segment.FileSize <= 0x10_0000 ? new byte[segment.FileSize] : []);
        return this;
    }

    public byte[] BytesOf(LoadSegment segment) => _bytes[segment];

    public void CopySegment(LoadSegment segment, Span<byte> destination)
    {
        var bytes = _bytes[segment];
        Assert.Equal((int)segment.FileSize, destination.Length);
        bytes.CopyTo(destination);
    }
}
