using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>
/// virtio-net (device ID 1, VIRTIO 1.2 section 5.1) over a <see cref="Tap"/>, one queue pair, no offloads: MAC, STATUS
/// (link up) and MTU. Transmit is served on the notifying vCPU thread with one non-blocking write per frame. Receive
/// runs on a host thread that polls the tap and hands each frame to the guest through the transport. When the guest's
/// ring is empty the thread keeps that one frame and stops reading the tap until the driver adds buffers (as QEMU and
/// Firecracker do): later frames wait in the tap's own queue, which the host kernel bounds (txqueuelen) and drops
/// beyond, counting them as the tap's tx_dropped; so a stalled guest costs no host memory and cannot wedge the VM, and
/// a guest that drains slower than a burst arrives gets the burst's head instead of losing every frame that comes
/// while it reposts. A frame the device cannot place (a buffer too small, no driver) is dropped and counted. A tap
/// deleted under the device stops the receive thread; transmits then drop. A paused VM parks the receive thread: the
/// tap is not read until it resumes (frames wait in the tap's queue), and a frame it held for a buffer is delivered then.
/// Owns the tap.
/// </summary>
internal sealed class VirtioNet : IVirtioDevice, IDeviceDrivenQueues, IParkableThreads, IDisposable
{
    public const ushort QueueSize = 256;
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;

    public const ulong FeatureMtu = 1UL << 3;
    public const ulong FeatureMac = 1UL << 5;
    public const ulong FeatureStatus = 1UL << 16;

    public const ushort StatusLinkUp = 1;

    /// <summary>struct virtio_net_hdr with VERSION_1 (num_buffers included), all zero but num_buffers = 1: no offload.</summary>
    public const int HeaderBytes = 12;

    public const ushort DefaultMtu = 1500;

    /// <summary>struct virtio_net_config up to mtu: mac, status, max_virtqueue_pairs, mtu.</summary>
    public const int ConfigBytes = 12;

    private const int EthernetHeaderBytes = 14;

    /// <summary>The largest frame either way: 64 KiB, what a tap carries at most without GSO.</summary>
    private const int MaxFrameBytes = 65536;

    private readonly Tap _tap;
    private readonly ILogger _logger;
    private readonly byte[] _config = new byte[ConfigBytes];
    private readonly byte[] _transmitFrame = new byte[MaxFrameBytes];
    private readonly byte[] _receiveFrame = new byte[HeaderBytes + MaxFrameBytes];
    private readonly ChainFiller _fillReceived;
    private readonly Wakeup _wakeup = new();
    private Thread _receiver;
    private IVirtqueueFiller? _filler;
    private int _receivedLength;
    private long _packetsIn, _bytesIn, _packetsOut, _bytesOut, _droppedIn, _droppedOut;
    private volatile bool _tapLost;
    private volatile bool _stopping;
    private volatile bool _parking;

    // A frame read from the tap waits in _receiveFrame for a guest buffer; the thread then does not read the tap.
    private bool _framePending;
    private volatile bool _waitingForBuffers;

    public VirtioNet(Tap tap, MacAddress mac, ushort mtu, ILogger logger)
    {
        _tap = tap;
        _logger = logger;
        Mac = mac;
        Mtu = mtu;
        mac.WriteTo(_config);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(6), StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(10), mtu);
        BinaryPrimitives.WriteUInt16LittleEndian(_receiveFrame.AsSpan(10), 1);
        _fillReceived = FillReceived;
        _receiver = StartReceiver();
    }

    public VirtioDeviceType DeviceType => VirtioDeviceType.Network;

    public ulong Features => FeatureMac | FeatureStatus | FeatureMtu;

    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [QueueSize, QueueSize];

    public MacAddress Mac { get; }

    public ushort Mtu { get; }

    public string TapName => _tap.Name;

    public NetworkStatistics Statistics => new(
        Interlocked.Read(ref _packetsIn), Interlocked.Read(ref _bytesIn), Interlocked.Read(ref _packetsOut),
        Interlocked.Read(ref _bytesOut), Interlocked.Read(ref _droppedIn), Interlocked.Read(ref _droppedOut), _tapLost);

    public void ReadConfig(uint offset, Span<byte> data)
    {
        if (offset < _config.Length)
        {
            var available = _config.AsSpan((int)offset);
            available[..Math.Min(available.Length, data.Length)].CopyTo(data);
        }
    }

    public bool IsDeviceDriven(int queueIndex) => queueIndex == ReceiveQueue;

    public void Activate(IVirtqueueFiller filler)
    {
        Volatile.Write(ref _filler, filler);
        _wakeup.Signal();
    }

    public void Deactivate()
    {
        Volatile.Write(ref _filler, null);
        _wakeup.Signal();
    }

    /// <summary>Wakes the receive thread only when it holds a frame for want of a buffer (one eventfd write, on the vCPU thread).</summary>
    public void BuffersAdded(int queueIndex)
    {
        if (_waitingForBuffers)
        {
            _wakeup.Signal();
        }
    }

    /// <summary>Transmit: one frame per chain, header skipped, written to the tap without waiting.</summary>
    public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
    {
        var frameLength = chain.ReadableLength - HeaderBytes;
        if (chain.ReadableLength < HeaderBytes + EthernetHeaderBytes || frameLength > MaxFrameBytes || _tapLost)
        {
            Interlocked.Increment(ref _droppedOut);
            return 0;
        }

        var frame = _transmitFrame.AsSpan(0, (int)frameLength);
        chain.CopyFromReadable(memory, HeaderBytes, frame);
        var written = _tap.Write(frame);
        if (written < 0)
        {
            Interlocked.Increment(ref _droppedOut);
            if (written != -Libc.EAGAIN)
            {
                _logger.LogDebug("virtio-net {Tap}: write failed: {Error}", _tap.Name, Libc.ErrorText(-written));
            }

            return 0;
        }

        Interlocked.Increment(ref _packetsOut);
        Interlocked.Add(ref _bytesOut, written);
        return 0;
    }

    public void Park()
    {
        _parking = true;
        _wakeup.Signal();
        _receiver.Join();
    }

    public void Unpark()
    {
        _parking = false;
        if (!_tapLost)
        {
            _receiver = StartReceiver();
            // A buffers-added wakeup the park swallowed: the restarted thread looks at the ring once anyway.
            _wakeup.Signal();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wakeup.Signal();
        _receiver.Join();
        _wakeup.Dispose();
        _tap.Dispose();
    }

    private Thread StartReceiver()
    {
        var thread = new Thread(ReceiveUntilStopped) { IsBackground = true, Name = $"virtio-net rx {_tap.Name}" };
        thread.Start();
        return thread;
    }

    /// <summary>The receive thread: nothing it meets may take the host process down (an unhandled exception on a thread would).</summary>
    private void ReceiveUntilStopped()
    {
        try
        {
            Receive();
        }
        catch (Exception e)
        {
            _tapLost = true;
            _logger.LogError(e, "virtio-net {Tap}: receive stopped by an unexpected failure", _tap.Name);
        }
    }

    private unsafe void Receive()
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _tap.Descriptor };
        fds[1] = new Libc.PollFd { Fd = _wakeup.Descriptor, Events = Libc.POLLIN };
        while (true)
        {
            // While a frame waits for a buffer, the tap is watched only for failure (POLLERR/POLLHUP are always reported).
            fds[0].Events = _framePending ? (short)0 : Libc.POLLIN;
            if (Libc.Poll(fds, 2, -1) < 0)
            {
                continue;
            }

            if (fds[1].ReturnedEvents != 0)
            {
                ulong value;
                Libc.Read(_wakeup.Descriptor, (byte*)&value, sizeof(ulong));
                if (_stopping || _parking)
                {
                    return;
                }
            }

            if ((fds[0].ReturnedEvents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0 || !DrainTap())
            {
                _tapLost = true;
                _logger.LogWarning("virtio-net {Tap}: the tap is gone (deleted?); receive stopped, transmits drop", _tap.Name);
                return;
            }
        }
    }

    /// <summary>Delivers the waiting frame, then every frame the tap has until the guest's ring runs dry; false when the tap failed.</summary>
    private bool DrainTap()
    {
        while (true)
        {
            if (_parking)
            {
                // Parked mid-burst: the rest waits in the tap; the wakeup already counts the park, so the loop ends next.
                return true;
            }

            if (!_framePending)
            {
                var length = _tap.Read(_receiveFrame.AsSpan(HeaderBytes));
                if (length <= 0)
                {
                    return length == 0;
                }

                _receivedLength = length;
                _framePending = true;
            }

            if (!DeliverPending())
            {
                return true;
            }
        }
    }

    /// <summary>Hands the waiting frame to the guest or drops it; false when it must wait for a buffer.</summary>
    private bool DeliverPending()
    {
        var length = _receivedLength;
        var filler = Volatile.Read(ref _filler);
        // Set before looking at the ring, so buffers added after the look wake the thread.
        _waitingForBuffers = true;
        var result = filler?.TryFill(ReceiveQueue, _fillReceived) ?? FillResult.NotLive;
        if (result == FillResult.NoBuffer)
        {
            return false;
        }

        _waitingForBuffers = false;
        _framePending = false;
        if (result == FillResult.NotLive || _receivedLength < 0)
        {
            Interlocked.Increment(ref _droppedIn);
            return true;
        }

        Interlocked.Increment(ref _packetsIn);
        Interlocked.Add(ref _bytesIn, length);
        return true;
    }

    /// <summary>Writes header and frame into one receive chain; a chain too small gets nothing and marks the frame dropped.</summary>
    private uint FillReceived(DescriptorChain chain, GuestMemory memory)
    {
        var total = HeaderBytes + _receivedLength;
        if (chain.WritableLength < (ulong)total)
        {
            _receivedLength = -1;
            return 0;
        }

        return (uint)chain.CopyToWritable(memory, 0, _receiveFrame.AsSpan(0, total));
    }
}
