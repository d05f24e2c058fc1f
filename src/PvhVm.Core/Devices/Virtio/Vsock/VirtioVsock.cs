using Microsoft.Extensions.Logging;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// virtio-vsock (device ID 19, VIRTIO 1.2 section 5.10), stream sockets only, in user space with Firecracker's hybrid
/// model: the VM has one Unix socket on the host (<see cref="SocketPath"/>). A host program connects to it and writes
/// `CONNECT port\n`; once the guest's listener accepts, it reads `OK hostport\n` and then has a byte stream. A guest
/// connecting to host port P reaches whatever listens on `SocketPath_P`. This class is the device: identity,
/// configuration, queues; the <see cref="VsockMuxer"/> behind it owns the sockets and connections
/// (<see cref="VsockConnection"/>, the state machine and credit of each). Both directions respect credit, so no side
/// can make the host buffer without bound. Hostile packets are counted and answered with RST; the device itself never
/// fails because of them.
/// </summary>
internal sealed class VirtioVsock : IVirtioDevice, IDeviceDrivenQueues, IParkableThreads, IDisposable
{
    public const ushort QueueSize = 256;
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int EventQueue = 2;

    public const ulong HostCid = 2;

    /// <summary>struct virtio_vsock_config: le64 guest_cid.</summary>
    public const int ConfigBytes = 8;

    /// <summary>Ports the device gives host-initiated connections start here (Firecracker's choice), far from guest services.</summary>
    public const uint FirstHostPort = 1u << 30;

    /// <summary>struct virtio_vsock_event's id for "the transport was reset" (section 5.10.6.7): the only event there is.</summary>
    public const uint EventTransportReset = 0;

    /// <summary>Payload of one packet at most, either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).</summary>
    public const int MaxPayload = 64 * 1024;

    private readonly VsockMuxer _muxer;

    // One packet's header; its only user runs under the transport's lock (Handle).
    private readonly byte[] _guestHeader = new byte[VsockHeader.Size];

    public VirtioVsock(ulong guestCid, string socketPath, ILogger logger)
    {
        if (guestCid is <= HostCid or >= uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(guestCid), guestCid, "A guest CID is 3 or more and below 2^32-1.");
        }

        GuestCid = guestCid;
        SocketPath = socketPath;
        _muxer = new VsockMuxer(guestCid, socketPath, logger);
    }

    public ulong GuestCid { get; }

    public string SocketPath { get; }

    public VirtioDeviceType DeviceType => VirtioDeviceType.Vsock;

    // Stream only: with no feature bit set a driver uses stream sockets (section 5.10.3).
    public ulong Features => 0;

    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [QueueSize, QueueSize, QueueSize];

    public VsockStatistics Statistics => _muxer.Statistics;

    public void ReadConfig(uint offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[ConfigBytes];
        BitConverter.TryWriteBytes(config, GuestCid);
        if (offset < config.Length)
        {
            var available = config[(int)offset..];
            available[..Math.Min(available.Length, data.Length)].CopyTo(data);
        }
    }

    public bool IsDeviceDriven(int queueIndex) => queueIndex != TransmitQueue;

    public void Activate(IVirtqueueFiller filler) => _muxer.Activate(filler);

    public void Deactivate() => _muxer.Deactivate();

    public void BuffersAdded(int queueIndex)
    {
        if (queueIndex == ReceiveQueue)
        {
            _muxer.ReceiveBuffersAdded();
        }
    }

    /// <summary>One packet from the guest's transmit queue, handed to the muxer; nothing is written back into the chain.</summary>
    public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
    {
        if (chain.CopyFromReadable(memory, 0, _guestHeader) < VsockHeader.Size)
        {
            _muxer.CountMalformed();
            return 0;
        }

        _muxer.FromGuest(VsockHeader.Read(_guestHeader), chain, memory);
        return 0;
    }

    public void Park() => _muxer.Park();

    public void Unpark() => _muxer.Unpark();

    /// <summary>
    /// Tells a restored guest its connections are gone (they were the checkpointed VM's, whose host sockets this device
    /// never had): VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue. Sent on restore, as QEMU's vhost-vsock does
    /// after loading, not into the checkpoint as Firecracker does when it saves: the checkpointed VM keeps its
    /// connections. The driver then resets every socket and reads its CID again. False when the driver gave the event
    /// queue no buffer.
    /// </summary>
    public bool SendTransportReset(IVirtqueueFiller filler) => filler.TryFill(EventQueue, WriteTransportReset) == FillResult.Filled;

    public void Dispose() => _muxer.Dispose();

    private static uint WriteTransportReset(DescriptorChain chain, GuestMemory memory)
    {
        Span<byte> resetEvent = stackalloc byte[4];
        BitConverter.TryWriteBytes(resetEvent, EventTransportReset);
        return (uint)chain.CopyToWritable(memory, 0, resetEvent);
    }
}
