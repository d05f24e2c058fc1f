using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Memory;

/// <summary>Guest memory as devices and loaders see it: little-endian scalars, and every access checked against RAM.</summary>
public sealed class GuestMemoryTests
{
    private const ulong MiB = 1 << 20;

    [Fact]
    public void ScalarsAreLittleEndianAndSpansRoundTrip()
    {
        using var memory = GuestMemory.Allocate(MiB);
        memory.WriteUInt32(0x1000, 0x1122_3344);
        var bytes = new byte[4];
        memory.Read(0x1000, bytes);
        Assert.Equal([0x44, 0x33, 0x22, 0x11], bytes);

        memory.WriteUInt64(0x2000, 0x0102_0304_0506_0708);
        Assert.Equal(0x0708, memory.ReadUInt16(0x2000));
        Assert.Equal(0x0506_0708u, memory.ReadUInt32(0x2000));
        Assert.Equal(0x0102_0304_0506_0708ul, memory.ReadUInt64(0x2000));
        memory.WriteUInt16(MiB - 2, 0xBEEF);
        Assert.Equal(0xEF, memory.ReadByte(MiB - 2));
    }

    [Fact]
    public void AccessesLeavingRamThrowInsteadOfTouchingTheHost()
    {
        using var memory = GuestMemory.Allocate(MiB);
        Assert.Throws<GuestMemoryException>(() => memory.ReadUInt64(MiB - 4));
        Assert.Throws<GuestMemoryException>(() => memory.WriteUInt32(MiB, 1));
        Assert.Throws<GuestMemoryException>(() => memory.ReadUInt64(ulong.MaxValue - 3));
        Assert.Throws<GuestMemoryException>(() => memory.Write(MiB - 1, [1, 2]));
        Assert.Throws<GuestMemoryException>(() => memory.Read(Layout.MmioHoleStart, new byte[1]));
        Assert.False(memory.Contains(ulong.MaxValue, 2));
        Assert.True(memory.Contains(MiB - 8, 8));
    }

    [Fact]
    public void AnAccessMayNotStraddleTheMmioHole()
    {
        using var memory = GuestMemory.Allocate(Layout.MmioHoleStart + MiB);
        memory.WriteUInt32(Layout.HighRamStart, 7);
        Assert.Equal(7u, memory.ReadUInt32(Layout.HighRamStart));
        Assert.Throws<GuestMemoryException>(() => memory.ReadUInt64(Layout.MmioHoleStart - 4));
        Assert.Throws<GuestMemoryException>(() => memory.ReadUInt32(Layout.HighRamStart - 2));
    }

    [Fact]
    public void AddressArithmeticIsChecked()
    {
        var top = new GuestAddress(ulong.MaxValue - 1);
        Assert.Equal(new GuestAddress(ulong.MaxValue), top.CheckedAdd(1));
        Assert.Null(top.CheckedAdd(2));
        Assert.Equal("0xfffffffffffffffe", top.ToString());
    }

    [Fact]
    public void ADisposedMemoryRefusesAccess()
    {
        var memory = GuestMemory.Allocate(MiB);
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.ReadUInt32(0));
    }
}
