using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Net;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Tests.Devices.Virtio.Net;

/// <summary>
/// virtio-net against a real tap in a namespace the test owns: the test driver plays the guest's driver, the host
/// kernel answers ARP and ICMP on the tap's side.
/// </summary>
public sealed class VirtioNetTests : IDisposable
{
    private const ushort QueueSize = 64;
    private const uint ReceiveBufferBytes = 2048;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly byte[] GuestMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

    private readonly TapNamespace _namespace = new();
    private readonly VirtioNet _device;
    private readonly VirtioTestDriver _driver;
    private readonly TestQueue _receive;
    private readonly TestQueue _transmit;

    public VirtioNetTests()
    {
        _device = new VirtioNet(Tap.Open(_namespace.TapName), MacAddress.FromBytes(GuestMac), VirtioNet.DefaultMtu, NullLogger.Instance);
        _namespace.TakeTap();
        _driver = new VirtioTestDriver(_device);
        _receive = new TestQueue(_driver, VirtioNet.ReceiveQueue, QueueSize);
        _transmit = new TestQueue(_driver, VirtioNet.TransmitQueue, QueueSize);
        Assert.True(_driver.Negotiate(_driver.ReadDeviceFeatures()));
        _receive.SetUp();
        _transmit.SetUp();
        _driver.DriverOk();
    }

    public void Dispose()
    {
        _device.Dispose();
        _driver.Dispose();
        _namespace.Dispose();
    }

    [Fact]
    public void Identifies_as_a_network_device_with_mac_link_up_and_mtu_and_no_offloads()
    {
        Assert.Equal((uint)VirtioDeviceType.Network, _driver.ReadRegister(DeviceId));
        var features = _driver.ReadDeviceFeatures();
        Assert.Equal(VirtioNet.FeatureMac | VirtioNet.FeatureStatus | VirtioNet.FeatureMtu | VirtioFeature.Transport, features);
        var config = new byte[12];
        _driver.Transport.Read(Config, config);
        Assert.Equal(GuestMac, config[..6]);
        Assert.Equal(VirtioNet.StatusLinkUp, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(6)));
        Assert.Equal(VirtioNet.DefaultMtu, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(10)));
    }

    [Fact]
    public void An_arp_request_from_the_guest_is_answered_by_the_host_kernel_through_the_tap()
    {
        PostReceiveBuffers(8);
        Transmit(EthernetFrames.ArpRequest(GuestMac, TapNamespace.GuestAddress, TapNamespace.HostAddress));

        var reply = ReceiveUntil(frame => EthernetFrames.ArpReplySender(frame, TapNamespace.HostAddress));

        Assert.Equal(_namespace.TapMac(), string.Join(':', reply.Select(b => b.ToString("x2"))));
        var statistics = _device.Statistics;
        Assert.Equal(1, statistics.PacketsOut);
        Assert.Equal(42, statistics.BytesOut);
        Assert.True(statistics.PacketsIn >= 1 && statistics.BytesIn >= 42);
        Assert.Equal(0, statistics.DroppedIn + statistics.DroppedOut);
        Assert.True(_driver.Interrupts.Count >= 1);
    }

    [Fact]
    public void An_icmp_echo_comes_back_with_its_payload()
    {
        PostReceiveBuffers(8);
        var tapMac = ResolveTapMac();
        var payload = Enumerable.Range(0, 1400).Select(i => (byte)(i * 7)).ToArray();

        Transmit(EthernetFrames.IcmpEchoRequest(GuestMac, tapMac, TapNamespace.GuestAddress, TapNamespace.HostAddress, 1, payload));

        Assert.Equal(payload, ReceiveUntil(frame => EthernetFrames.IcmpEchoReplyPayload(frame, 1)));
    }

    [Fact]
    public void Frames_for_a_guest_that_posts_no_buffers_wait_in_the_taps_bounded_queue_and_flow_again_once_it_does()
    {
        PostReceiveBuffers(1);
        var tapMac = ResolveTapMac();
        const int Flood = 3000;
        var kernelDropsBefore = _namespace.TapTxDropped();

        // The receive ring is now empty: the echo replies the host kernel sends have nowhere to go. The device keeps one
        // and stops reading; the tap's queue holds what it can and the kernel drops the rest.
        var before = _device.Statistics;
        for (ushort sequence = 1; sequence <= Flood; sequence++)
        {
            Transmit(EthernetFrames.IcmpEchoRequest(GuestMac, tapMac, TapNamespace.GuestAddress, TapNamespace.HostAddress, sequence, [1, 2, 3]));
        }

        WaitFor(() => _namespace.TapTxDropped() - kernelDropsBefore > 0);
        Assert.Equal((before.PacketsIn, before.DroppedIn), (_device.Statistics.PacketsIn, _device.Statistics.DroppedIn));
        Assert.Equal(before.PacketsOut + Flood, _device.Statistics.PacketsOut);

        // Buffers again: what waited arrives (no more than the tap's queue and the one frame the device held), then new traffic.
        var delivered = DrainWaitingFrames();

        Assert.InRange(delivered, 2, _namespace.TapQueueLength() + 1);
        Assert.Equal(before.PacketsIn + delivered, _device.Statistics.PacketsIn);
        Transmit(EthernetFrames.IcmpEchoRequest(GuestMac, tapMac, TapNamespace.GuestAddress, TapNamespace.HostAddress, 9999, [9]));
        Assert.Equal([9], ReceiveUntil(frame => EthernetFrames.IcmpEchoReplyPayload(frame, 9999)));
        Assert.Equal(before.DroppedIn, _device.Statistics.DroppedIn);
    }

    [Fact]
    public void A_transmit_flood_is_written_or_counted_frame_by_frame_and_its_echoes_flood_the_receive_side_harmlessly()
    {
        PostReceiveBuffers(4);
        var tapMac = ResolveTapMac();
        const int Rounds = 40;
        var frame = EthernetFrames.IcmpEchoRequest(GuestMac, tapMac, TapNamespace.GuestAddress, TapNamespace.HostAddress, 7, new byte[1400]);
        var address = _transmit.DataArea;
        _driver.Memory.GetSpan(address, VirtioNet.HeaderBytes).Clear();
        frame.CopyTo(_driver.Memory.GetSpan(address + VirtioNet.HeaderBytes, frame.Length));
        var before = _device.Statistics;
        var kernelDropsBefore = _namespace.TapTxDropped();

        // Whole rings of full-size frames, one notify each, as fast as the test driver can post them; the host kernel
        // answers each, far more than the four receive buffers can take.
        for (var round = 0; round < Rounds; round++)
        {
            for (var slot = 0; slot < QueueSize; slot++)
            {
                _transmit.Post(new TestBuffer(address, (uint)(VirtioNet.HeaderBytes + frame.Length)));
            }

            _transmit.Notify();
            for (var slot = 0; slot < QueueSize; slot++)
            {
                Assert.Equal(0u, _transmit.WaitUsed(Wait)?.Length);
            }
        }

        var after = _device.Statistics;
        Assert.Equal(Rounds * QueueSize, after.PacketsOut + after.DroppedOut - before.PacketsOut - before.DroppedOut);

        // The echoes the guest has no buffers for wait in the tap's bounded queue; the host kernel drops the rest there,
        // and the device, holding one frame, reads no more until the guest posts buffers.
        WaitFor(() => _namespace.TapTxDropped() - kernelDropsBefore > 0);
        Assert.Equal(before.DroppedIn, _device.Statistics.DroppedIn);
        Assert.False(_driver.NeedsReset);
        Assert.False(_device.Statistics.TapLost);

        // Buffers again: what waited drains (no more than the tap's queue and the held frame), then new traffic flows.
        var drained = DrainWaitingFrames();

        Assert.InRange(drained, 1, _namespace.TapQueueLength() + 1);
        Transmit(EthernetFrames.IcmpEchoRequest(GuestMac, tapMac, TapNamespace.GuestAddress, TapNamespace.HostAddress, 1000, [10]));
        Assert.Equal([10], ReceiveUntil(frame => EthernetFrames.IcmpEchoReplyPayload(frame, 1000)));
    }

    [Fact]
    public void A_receive_buffer_too_small_for_the_frame_is_returned_empty_and_the_frame_counted_as_dropped()
    {
        _receive.Post(new TestBuffer(_receive.DataArea, VirtioNet.HeaderBytes + 20, DeviceWritable: true));
        _receive.Notify();
        Transmit(EthernetFrames.ArpRequest(GuestMac, TapNamespace.GuestAddress, TapNamespace.HostAddress));

        var used = _receive.WaitUsed(Wait);

        Assert.Equal(0u, used?.Length);
        WaitFor(() => _device.Statistics.DroppedIn == 1);
    }

    [Fact]
    public void A_malformed_transmit_is_dropped_and_counted_without_reaching_the_tap()
    {
        _transmit.Post(new TestBuffer(_transmit.DataArea, VirtioNet.HeaderBytes + 5));
        _transmit.Notify();

        Assert.Equal(0u, _transmit.WaitUsed(Wait)?.Length);
        Assert.Equal(1, _device.Statistics.DroppedOut);
        Assert.Equal(0, _device.Statistics.PacketsOut);
        Assert.False(_driver.NeedsReset);
    }

    [Fact]
    public void A_tap_deleted_under_the_device_stops_receive_and_transmits_drop_cleanly()
    {
        PostReceiveBuffers(4);
        _namespace.InNamespace("link", "del", _namespace.TapName);

        WaitFor(() => _device.Statistics.TapLost);
        Transmit(EthernetFrames.ArpRequest(GuestMac, TapNamespace.GuestAddress, TapNamespace.HostAddress));

        Assert.Equal(1, _device.Statistics.DroppedOut);
        Assert.False(_driver.NeedsReset);
    }

    [Fact]
    public void A_tap_the_device_created_is_removed_with_it_and_one_it_attached_to_is_left()
    {
        var created = $"{_namespace.TapName}c";
        var existing = $"{_namespace.TapName}e";
        TapNamespace.Ip("tuntap", "add", "dev", existing, "mode", "tap");
        try
        {
            new VirtioNet(Tap.Open(created), MacAddress.Derive("a"), VirtioNet.DefaultMtu, NullLogger.Instance).Dispose();
            using (var attached = new VirtioNet(Tap.Open(existing), MacAddress.Derive("b"), VirtioNet.DefaultMtu, NullLogger.Instance))
            {
                Assert.Equal(existing, attached.TapName);
            }

            Assert.False(TapNamespace.LinkExists(created));
            Assert.True(TapNamespace.LinkExists(existing));
        }
        finally
        {
            TapNamespace.Ip("link", "del", existing);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("has space")]
    [InlineData("a/b")]
    public void A_tap_name_linux_cannot_take_is_refused(string name)
    {
        var error = Assert.Throws<TapException>(() => Tap.Open(name));
        Assert.Equal(name, error.TapName);
    }

    private void PostReceiveBuffers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            // One descriptor per chain, posted in order: a chain's head is also its buffer's slot.
            _receive.Post(new TestBuffer(ReceiveAddress(NextReceiveHead(i)), ReceiveBufferBytes, DeviceWritable: true));
        }

        _receive.Notify();
        _postedReceive += count;
    }

    private int _postedReceive;

    private ushort NextReceiveHead(int i) => (ushort)((_postedReceive + i) % QueueSize);

    private ulong ReceiveAddress(ushort head) => _receive.DataArea + head * (ulong)ReceiveBufferBytes;

    private void Transmit(byte[] frame)
    {
        var address = _transmit.DataArea;
        _driver.Memory.GetSpan(address, VirtioNet.HeaderBytes).Clear();
        frame.CopyTo(_driver.Memory.GetSpan(address + VirtioNet.HeaderBytes, frame.Length));
        _transmit.Post(new TestBuffer(address, (uint)(VirtioNet.HeaderBytes + frame.Length)));
        _transmit.Notify();
        Assert.NotNull(_transmit.WaitUsed(Wait));
    }

    /// <summary>Posts one receive buffer at a time until no frame fills it within half a second: how many frames were waiting.</summary>
    private int DrainWaitingFrames()
    {
        var frames = 0;
        while (true)
        {
            PostReceiveBuffers(1);
            if (_receive.WaitUsed(TimeSpan.FromMilliseconds(500)) is null)
            {
                return frames;
            }

            frames++;
        }
    }

    /// <summary>Takes received frames until <paramref name="match"/> picks one, checking each carries a zero header with num_buffers 1.</summary>
    private T ReceiveUntil<T>(Func<byte[], T?> match) where T : class
    {
        while (_receive.WaitUsed(Wait) is var (head, length))
        {
            var received = _driver.Memory.GetSpan(ReceiveAddress(head), (int)length).ToArray();
            Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, received[..VirtioNet.HeaderBytes]);
            if (match(received[VirtioNet.HeaderBytes..]) is { } found)
            {
                return found;
            }
        }

        throw new TimeoutException("no matching frame arrived");
    }

    private byte[] ResolveTapMac()
    {
        Transmit(EthernetFrames.ArpRequest(GuestMac, TapNamespace.GuestAddress, TapNamespace.HostAddress));
        return ReceiveUntil(frame => EthernetFrames.ArpReplySender(frame, TapNamespace.HostAddress));
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            Thread.Sleep(5);
        }
    }
}
