using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Rng;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>The virtio-mmio register interface as a driver meets it (VIRTIO 1.2, section 4.2.2 and 4.2.3).</summary>
public sealed class VirtioMmioTransportTests
{
    private const DeviceStatus UpToDriver = DeviceStatus.Acknowledge | DeviceStatus.Driver;

    [Fact]
    public void IdentifiesAsAVersion2DeviceWithItsQueues()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.Equal(0x7472_6976u, driver.ReadRegister(MagicValue));
        Assert.Equal(2u, driver.ReadRegister(VirtioMmioRegister.Version));
        Assert.Equal(4u, driver.ReadRegister(DeviceId));
        Assert.Equal(PvhVmVendor, driver.ReadRegister(VendorId));
        Assert.Equal(VirtioFeature.Version1 | VirtioFeature.RingIndirectDesc | VirtioFeature.RingEventIdx, driver.ReadDeviceFeatures());
        driver.WriteRegister(QueueSel, 0);
        Assert.Equal(256u, driver.ReadRegister(QueueNumMax));
        driver.WriteRegister(QueueSel, 1);
        Assert.Equal(0u, driver.ReadRegister(QueueNumMax));
        Assert.Equal(uint.MaxValue, driver.ReadRegister(ShmLenLow));
        Assert.Equal(0u, driver.ReadRegister(ConfigGeneration));
    }

    [Fact]
    public void OnTheMmioBusItAnswersInItsWindowAndNothingBeyond()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        var bus = new MmioBus(NullLogger.Instance);
        const ulong Base = Layout.MmioHoleStart;
        bus.Register(Base, VirtioMmioTransport.WindowSize, driver.Transport);
        var value = new byte[4];
        bus.Read(Base + MagicValue, value);
        Assert.Equal("virt"u8.ToArray(), value);
        bus.Read(Base + VirtioMmioTransport.WindowSize - 4, value);
        Assert.Equal(new byte[4], value);
        bus.Read(Base + VirtioMmioTransport.WindowSize, value);
        Assert.Equal(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, value);
    }

    [Fact]
    public void FeaturesOkIsRefusedWithoutVersion1OrWithFeaturesNotOffered()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.False(driver.Negotiate(VirtioFeature.RingIndirectDesc));
        Assert.Equal(UpToDriver, driver.Transport.Status);
        Assert.False(driver.Negotiate(VirtioFeature.Version1 | (1UL << 33)));
        Assert.True(driver.Negotiate(VirtioFeature.Version1));
    }

    [Fact]
    public void StatusBitsMustBeSetInOrderAndNeverCleared()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        driver.WriteRegister(Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.DriverOk));
        Assert.Equal(DeviceStatus.Reset, driver.Transport.Status);
        Assert.True(driver.Negotiate(VirtioFeature.Version1));
        driver.WriteRegister(Status, (uint)DeviceStatus.Acknowledge);
        Assert.True(driver.Transport.Status.HasFlag(DeviceStatus.FeaturesOk));
        driver.WriteRegister(Status, (uint)(driver.Transport.Status | DeviceStatus.Failed));
        Assert.True(driver.Transport.Status.HasFlag(DeviceStatus.Failed));
        Assert.True(driver.Transport.IgnoredAccesses >= 2);
    }

    [Fact]
    public void DriverFeaturesAreFixedOnceFeaturesOkIsSet()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        Assert.True(driver.Negotiate(VirtioFeature.Version1));
        driver.WriteRegister(DriverFeaturesSel, 0);
        driver.WriteRegister(DriverFeatures, (uint)VirtioFeature.RingIndirectDesc);
        // Indirect was not negotiated, so an indirect descriptor is a protocol error even though it is offered.
        driver.SetUpQueue(8);
        driver.DriverOk();
        driver.WriteDescriptor(VirtioTestDriver.DescriptorTable, 0, VirtioTestDriver.IndirectTable, 16, VirtioTestDriver.Indirect, 0);
        driver.Publish(0);
        Assert.True(driver.NeedsReset);
        Assert.Contains("VIRTIO_F_INDIRECT_DESC", driver.Transport.LastProtocolError);
    }

    [Fact]
    public void QueueRegistersAreIgnoredOutsideQueueSetup()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        driver.WriteRegister(Status, (uint)UpToDriver);
        driver.SetUpQueue(8);
        Assert.Equal(0u, driver.ReadRegister(QueueReady));
        driver.Start(8);
        driver.WriteRegister(QueueDescLow, 0x5000);
        Assert.Equal(8u, driver.Submit(new TestBuffer(VirtioTestDriver.DataArea, 8, DeviceWritable: true)));
    }

    [Fact]
    public void ResetReturnsEverythingToItsInitialState()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        driver.Start(8);
        Assert.Equal(8u, driver.Submit(new TestBuffer(VirtioTestDriver.DataArea, 8, DeviceWritable: true)));
        driver.WriteRegister(Status, 0);
        Assert.Equal(DeviceStatus.Reset, driver.Transport.Status);
        Assert.Equal(0u, driver.ReadRegister(QueueReady));
        Assert.Equal(0u, driver.ReadRegister(InterruptStatus));
        // The rings start again from index 0 after a reset.
        driver.Memory.WriteUInt16(VirtioTestDriver.UsedRing + 2, 0);
        driver.Start(8);
        Assert.Equal(16u, driver.Submit(new TestBuffer(VirtioTestDriver.DataArea, 16, DeviceWritable: true)));
    }

    [Fact]
    public void UsedBuffersRaiseTheLineAndStayPendingUntilAcknowledged()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        driver.Start(8, declined: VirtioFeature.RingEventIdx);
        driver.Submit(new TestBuffer(VirtioTestDriver.DataArea, 8, DeviceWritable: true));
        Assert.Equal(1, driver.Interrupts.Count);
        Assert.Equal(InterruptUsedBuffer, driver.ReadRegister(InterruptStatus));
        driver.WriteRegister(InterruptAck, InterruptUsedBuffer);
        Assert.Equal(0u, driver.ReadRegister(InterruptStatus));

        // VIRTQ_AVAIL_F_NO_INTERRUPT: the request completes without an edge.
        driver.Memory.WriteUInt16(VirtioTestDriver.AvailableRing, 1);
        Assert.Equal(8u, driver.Submit(new TestBuffer(VirtioTestDriver.DataArea, 8, DeviceWritable: true)));
        Assert.Equal(1, driver.Interrupts.Count);
    }

    [Fact]
    public void WithEventIdxTheDriverSaysWhenToInterruptAndTheDeviceWhenToNotify()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        driver.Start(8);
        var usedEvent = VirtioTestDriver.AvailableRing + 4 + 2 * 8;
        var availEvent = VirtioTestDriver.UsedRing + 4 + 8 * 8;
        var buffer = new TestBuffer(VirtioTestDriver.DataArea, 8, DeviceWritable: true);

        // used_event 2: no interrupt for the first and second returned chains (used index 1, 2), one for the third.
        driver.Memory.WriteUInt16(usedEvent, 2);
        Assert.Equal(8u, driver.Submit(buffer));
        Assert.Equal(8u, driver.Submit(buffer));
        Assert.Equal(0, driver.Interrupts.Count);
        Assert.Equal(8u, driver.Submit(buffer));
        Assert.Equal(1, driver.Interrupts.Count);
        // The flag of the other scheme is ignored under EVENT_IDX (used_event 3 asks for the next).
        driver.Memory.WriteUInt16(VirtioTestDriver.AvailableRing, 1);
        driver.Memory.WriteUInt16(usedEvent, 3);
        Assert.Equal(8u, driver.Submit(buffer));
        Assert.Equal(2, driver.Interrupts.Count);
        // The device asks to be notified at the next chain made available: index 4.
        Assert.Equal(4, driver.Memory.ReadUInt16(availEvent));
    }

    [Fact]
    public void RegistersAnswerOnlyAligned32BitAccesses()
    {
        using var driver = new VirtioTestDriver(new VirtioRng());
        var narrow = new byte[2];
        driver.Transport.Read(MagicValue, narrow);
        Assert.Equal(new byte[2], narrow);
        driver.Transport.Write(Status, [1, 0]);
        Assert.Equal(DeviceStatus.Reset, driver.Transport.Status);
        Assert.Equal(2, driver.Transport.IgnoredAccesses);
    }
}
