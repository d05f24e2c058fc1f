using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Rng;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;
using static PvhVm.Core.Tests.Devices.Virtio.VirtioTestDriver;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// A guest that breaks the split-virtqueue rules (VIRTIO 1.2, section 2.7): each case ends with the device marked
/// DEVICE_NEEDS_RESET for the reason expected, the driver told by a configuration-change interrupt, no request served,
/// and a reset bringing the device back.
/// </summary>
public sealed class HostileVirtqueueTests
{
    private const ulong RamSize = 4 << 20;

    public static TheoryData<string, string> Chains => new()
    {
        { "loop", "longer than the queue" },
        { "long-indirect", "longer than the queue" },
        { "outside-ram", "not inside guest RAM" },
        { "wrapping", "not inside guest RAM" },
        { "straddling-ram-end", "not inside guest RAM" },
        { "nested-indirect", "indirect table inside an indirect table" },
        { "indirect-bad-size", "not a whole number of descriptors" },
        { "indirect-empty", "not a whole number of descriptors" },
        { "indirect-with-next", "also flagged NEXT" },
        { "indirect-outside-ram", "indirect table" },
        { "indirect-next-out-of-table", "outside its table" },
        { "head-out-of-queue", "outside the queue" },
        { "readable-after-writable", "readable descriptor after a device-writable" },
        { "avail-index-jump", "more than the queue" },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void AMalformedChainSetsNeedsReset(string chain, string reason)
    {
        var rng = new VirtioRng();
        using var driver = new VirtioTestDriver(rng).Start(queueSize: 4);
        var data = DataArea;
        switch (chain)
        {
            case "loop":
                driver.WriteDescriptor(DescriptorTable, 0, data, 8, Next | Write, 1);
                driver.WriteDescriptor(DescriptorTable, 1, data, 8, Next | Write, 0);
                driver.Publish(0);
                break;
            case "long-indirect":
                driver.WriteChain(IndirectTable, Enumerable.Repeat(new TestBuffer(data, 8, true), 5).ToArray());
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 5 * 16, Indirect, 0);
                driver.Publish(0);
                break;
            case "outside-ram":
                driver.Submit(new TestBuffer(RamSize, 8, true));
                break;
            case "wrapping":
                driver.Submit(new TestBuffer(ulong.MaxValue - 3, 8, true));
                break;
            case "straddling-ram-end":
                driver.Submit(new TestBuffer(RamSize - 4, 8, true));
                break;
            case "nested-indirect":
                driver.WriteDescriptor(IndirectTable, 0, IndirectTable + 0x100, 16, Indirect, 0);
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 16, Indirect, 0);
                driver.Publish(0);
                break;
            case "indirect-bad-size":
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 20, Indirect, 0);
                driver.Publish(0);
                break;
            case "indirect-empty":
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 0, Indirect, 0);
                driver.Publish(0);
                break;
            case "indirect-with-next":
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 16, Indirect | Next, 1);
                driver.Publish(0);
                break;
            case "indirect-outside-ram":
                driver.WriteDescriptor(DescriptorTable, 0, RamSize - 16, 32, Indirect, 0);
                driver.Publish(0);
                break;
            case "indirect-next-out-of-table":
                driver.WriteDescriptor(IndirectTable, 0, data, 8, Next | Write, 2);
                driver.WriteDescriptor(DescriptorTable, 0, IndirectTable, 32, Indirect, 0);
                driver.Publish(0);
                break;
            case "head-out-of-queue":
                driver.WriteChain(DescriptorTable, [new TestBuffer(data, 8, true)]);
                driver.Publish(4);
                break;
            case "readable-after-writable":
                driver.Submit(new TestBuffer(data, 8, true), new TestBuffer(data + 8, 8));
                break;
            case "avail-index-jump":
                driver.WriteChain(DescriptorTable, [new TestBuffer(data, 8, true)]);
                driver.Publish(0, indexAdvance: 5);
                break;
        }

        AssertNeedsReset(driver, reason);
        Assert.Equal(0, rng.Requests);
        Assert.Equal(0, driver.Memory.ReadUInt16(UsedRing + 2));
        AssertRecovers(driver);
    }

    public static TheoryData<string, ushort, ulong, ulong, ulong> Layouts => new()
    {
        { "not a power of two", 6, DescriptorTable, AvailableRing, UsedRing },
        { "not a power of two", 0, DescriptorTable, AvailableRing, UsedRing },
        { "not a power of two", 512, DescriptorTable, AvailableRing, UsedRing },
        { "misaligned", 8, DescriptorTable + 8, AvailableRing, UsedRing },
        { "misaligned", 8, DescriptorTable, AvailableRing + 1, UsedRing },
        { "misaligned", 8, DescriptorTable, AvailableRing, UsedRing + 2 },
        { "descriptor table", 8, RamSize - 64, AvailableRing, UsedRing },
        { "available ring", 8, DescriptorTable, RamSize - 16, UsedRing },
        { "used ring", 8, DescriptorTable, AvailableRing, ulong.MaxValue - 3 },
        { "used ring", 8, DescriptorTable, AvailableRing, 0xC000_0000 },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ABadQueueLayoutSetsNeedsResetWhenMadeReady(string reason, ushort size, ulong descriptors, ulong available, ulong used)
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.True(driver.Negotiate(driver.ReadDeviceFeatures()));
        driver.SetUpQueue(size, descriptors, available, used);
        Assert.True(driver.NeedsReset);
        Assert.Contains(reason, driver.Transport.LastProtocolError);
        Assert.Equal(0u, driver.ReadRegister(QueueReady));
        // Not yet DRIVER_OK: the driver finds out by reading the status, no interrupt.
        Assert.Equal(0, driver.Interrupts.Count);
        driver.DriverOk();
        Assert.False(driver.Transport.Status.HasFlag(DeviceStatus.DriverOk));
        AssertRecovers(driver);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(0xFFFF_FFFFu)]
    public void NotifyingAQueueNeverMadeReadySetsNeedsReset(uint queue)
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.True(driver.Negotiate(driver.ReadDeviceFeatures()));
        driver.DriverOk();
        driver.WriteRegister(QueueNotify, queue);
        AssertNeedsReset(driver, "never made ready");
        AssertRecovers(driver);
    }

    [Fact]
    public void NotifyingBeforeDriverOkSetsNeedsReset()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.True(driver.Negotiate(driver.ReadDeviceFeatures()));
        driver.SetUpQueue(8);
        driver.WriteRegister(QueueNotify, 0);
        Assert.True(driver.NeedsReset);
        Assert.Contains("notified in status", driver.Transport.LastProtocolError);
        AssertRecovers(driver);
    }

    [Fact]
    public void ADeviceThatNeedsResetServesNothingAndTheDriverCannotClearTheBit()
    {
        var rng = new VirtioRng();
        using var driver = new VirtioTestDriver(rng).Start(queueSize: 4);
        driver.Submit(new TestBuffer(RamSize, 8, true));
        Assert.True(driver.NeedsReset);
        driver.WriteRegister(Status, (uint)(driver.Transport.Status & ~DeviceStatus.DeviceNeedsReset));
        Assert.True(driver.NeedsReset);
        Assert.Null(driver.Submit(new TestBuffer(DataArea, 8, true)));
        Assert.Equal(0, rng.Requests);
        Assert.Equal(1, driver.Transport.ProtocolErrors);
    }

    private static void AssertNeedsReset(VirtioTestDriver driver, string reason)
    {
        Assert.True(driver.NeedsReset, "device should need a reset");
        Assert.Contains(reason, driver.Transport.LastProtocolError);
        Assert.Equal(InterruptConfigChange, driver.ReadRegister(InterruptStatus) & InterruptConfigChange);
        Assert.True(driver.Interrupts.Count >= 1);
    }

    /// <summary>After a reset, the same device serves a well-formed request.</summary>
    private static void AssertRecovers(VirtioTestDriver driver)
    {
        driver.Memory.WriteUInt16(UsedRing + 2, 0);
        driver.Memory.WriteUInt16(AvailableRing + 2, 0);
        driver.Start(8);
        Assert.Equal(32u, driver.Submit(new TestBuffer(DataArea, 32, DeviceWritable: true)));
    }
}
