using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices;

namespace PvhVm.Core.Tests.Devices;

public sealed class MmioBusTests
{
    [Fact]
    public void ADeviceSeesOffsetsFromItsBaseAndNothingOutsideItsRange()
    {
        var bus = new MmioBus(NullLogger.Instance);
        var device = new RecordingDevice();
        bus.Register(0xD000_0000, 0x200, device);

        bus.Write(0xD000_0070, [1, 2, 3, 4]);
        var data = new byte[4];
        bus.Read(0xD000_01FC, data);
        Assert.Equal([(0x70ul, "write", 4), (0x1FCul, "read", 4)], device.Accesses);
        Assert.Equal([0xAB, 0xAB, 0xAB, 0xAB], data);

        // Straddling the range's end, just before it, or past it: nobody's, all-ones, counted.
        bus.Read(0xD000_01FE, data);
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF], data);
        bus.Write(0xCFFF_FFFF, [0]);
        bus.Read(0xD000_0200, data);
        Assert.Equal(2, device.Accesses.Count);
        Assert.Equal(3, bus.UnhandledAccesses);
    }

    [Fact]
    public void OverlappingOrWrappingRangesAreRefused()
    {
        var bus = new MmioBus(NullLogger.Instance);
        bus.Register(0xD000_0000, 0x200, new RecordingDevice());
        Assert.Throws<ArgumentException>(() => bus.Register(0xD000_01FF, 1, new RecordingDevice()));
        Assert.Throws<ArgumentException>(() => bus.Register(0xCFFF_FF00, 0x101, new RecordingDevice()));
        Assert.Throws<ArgumentException>(() => bus.Register(ulong.MaxValue, 2, new RecordingDevice()));
        Assert.Throws<ArgumentException>(() => bus.Register(0xE000_0000, 0, new RecordingDevice()));
        bus.Register(0xD000_0200, 0x200, new RecordingDevice());
        bus.Register(0xCFFF_FF00, 0x100, new RecordingDevice());
    }

    private sealed class RecordingDevice : IMmioDevice
    {
        public List<(ulong Offset, string Access, int Length)> Accesses { get; } = [];

        public void Read(ulong offset, Span<byte> data)
        {
            Accesses.Add((offset, "read", data.Length));
            data.Fill(0xAB);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) => Accesses.Add((offset, "write", data.Length));
    }
}
