using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices;

namespace PvhVm.Core.Tests.Devices;

public sealed class PortIoBusTests
{
    [Fact]
    public void UnclaimedPortsReadAllOnesAndAreCounted()
    {
        var bus = new PortIoBus(NullLogger.Instance);
        var data = new byte[4];
        bus.Read(0xCFC, data);
        bus.Write(0x510, [1]);
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF], data);
        Assert.Equal(2, bus.UnhandledAccesses);
    }

    [Fact]
    public void I8042ResetCommandResetsAndOtherPortsAreLeftAlone()
    {
        var resets = 0;
        var i8042 = new I8042Controller(() => resets++);
        var bus = new PortIoBus(NullLogger.Instance);
        bus.Register(Layout.I8042DataPort, 1, i8042);
        bus.Register(Layout.I8042CommandPort, 1, i8042);
        bus.Write(0x64, [0xAA]);
        bus.Write(0x60, [0xFE]);
        Assert.Equal(0, resets);
        bus.Write(0x64, [0xFE]);
        Assert.Equal(1, resets);
        var status = new byte[1];
        bus.Read(0x61, status);
        Assert.Equal(0xFF, status[0]);
        Assert.Equal(1, bus.UnhandledAccesses);
    }

    [Fact]
    public void OverlappingRegistrationIsRefused()
    {
        var bus = new PortIoBus(NullLogger.Instance);
        bus.Register(0x3F8, 8, new IgnoredPorts());
        Assert.Throws<ArgumentException>(() => bus.Register(0x3FF, 1, new IgnoredPorts()));
    }
}
