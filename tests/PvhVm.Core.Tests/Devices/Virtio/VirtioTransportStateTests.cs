using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Rng;
using static PvhVm.Core.Tests.Devices.Virtio.VirtioTestDriver;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// A transport's saved state on a fresh transport (what a restore does): the queue goes on from its positions, a chain
/// made available without a notification is served once restored, and a state the device cannot take is refused whole.
/// </summary>
public sealed class VirtioTransportStateTests
{
    [Fact]
    public void ARestoredTransportGoesOnFromTheSavedPositionsAndServesAChainLeftWithoutNotify()
    {
        using var driver = new VirtioTestDriver(new VirtioRng()).Start();
        Assert.Equal(64u, driver.Submit(new TestBuffer(DataArea, 64, true)));
        // A second request made available, its notification never delivered (a checkpoint taken in between).
        driver.Memory.WriteUInt16(AvailableRing + 4 + 2, 0);
        driver.Memory.WriteUInt16(AvailableRing + 2, 2);
        var saved = driver.Transport.Save();
        Assert.Equal((ushort)1, saved.Queues[0].NextAvailable);
        Assert.Equal((ushort)1, saved.Queues[0].NextUsed);

        var restored = new VirtioMmioTransport(new VirtioRng(), driver.Memory, new CountingInterruptLine(), NullLogger.Instance);
        Assert.Null(restored.Restore(saved));
        Assert.Equal(saved, restored.Save(), TransportComparer.Instance);
        Assert.Equal((ushort)1, driver.Memory.ReadUInt16(UsedRing + 2));
        restored.ServePending();
        Assert.Equal((ushort)2, driver.Memory.ReadUInt16(UsedRing + 2));
        Assert.Equal(64u, driver.Memory.ReadUInt32(UsedRing + 4 + 8 + 4));
    }

    [Fact]
    public void AStateTheDeviceCannotTakeIsRefusedAndChangesNothing()
    {
        using var driver = new VirtioTestDriver(new VirtioRng()).Start();
        var saved = driver.Transport.Save();
        var queue = saved.Queues[0];
        var broken = new (string Why, VirtioTransportState State)[]
        {
            ("a status no driver reaches", saved with { Status = (uint)(DeviceStatus.Acknowledge | DeviceStatus.DriverOk) }),
            ("unknown status bits", saved with { Status = saved.Status | 0x10 }),
            ("features never offered", saved with { DriverFeatures = saved.DriverFeatures | (1UL << 40) }),
            ("interrupt bits no device sets", saved with { InterruptStatus = 4 }),
            ("another queue count", saved with { Queues = [queue, queue] }),
            ("a ready queue outside RAM", saved with { Queues = [queue with { UsedRing = 1UL << 40 }] }),
            ("a queue above its maximum", saved with { Queues = [queue with { Size = (ushort)(VirtioRng.QueueSize * 2) }] }),
            ("a ready queue of a size that is no power of two", saved with { Queues = [queue with { Size = 12 }] }),
        };
        foreach (var (why, state) in broken)
        {
            var fresh = new VirtioMmioTransport(new VirtioRng(), driver.Memory, new CountingInterruptLine(), NullLogger.Instance);
            var before = fresh.Save();
            Assert.True(fresh.Restore(state) is not null, why);
            Assert.Equal(before.Status, fresh.Save().Status);
            Assert.Equal(before.Queues, fresh.Save().Queues);
        }
    }

    /// <summary>Compares two states by value, queues included (records compare arrays by reference).</summary>
    private sealed class TransportComparer : IEqualityComparer<VirtioTransportState>
    {
        public static readonly TransportComparer Instance = new();

        public bool Equals(VirtioTransportState? x, VirtioTransportState? y) =>
            x is not null && y is not null && x with { Queues = Array.Empty<VirtqueueState>() } == y with { Queues = Array.Empty<VirtqueueState>() } && x.Queues.SequenceEqual(y.Queues);

        public int GetHashCode(VirtioTransportState obj) => obj.Status.GetHashCode();
    }
}
