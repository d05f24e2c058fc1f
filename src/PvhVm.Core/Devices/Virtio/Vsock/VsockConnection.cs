using System.Net.Sockets;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>Where a connection is in its life.</summary>
internal enum VsockConnectionState
{
    /// <summary>Host-initiated: accepted on the VM's socket, waiting for its `CONNECT port` line.</summary>
    AwaitingConnectLine,

    /// <summary>Host-initiated: REQUEST sent to the guest, waiting for RESPONSE or RST.</summary>
    Connecting,

    Established,

    /// <summary>Done: the worker thread closes the host socket and forgets the connection.</summary>
    Closed,
}

/// <summary>
/// One stream between a host Unix socket and a guest port, with both sides' credit (VIRTIO 1.2, section 5.10.6.3).
/// Guest-to-host bytes the host socket cannot take at once wait in <see cref="_pending"/>, which the guest's credit
/// bounds at <see cref="BufferAllocation"/>. Guarded by the device's lock.
/// </summary>
internal sealed class VsockConnection(Socket socket, VsockConnectionState state, uint localPort, uint peerPort)
{
    /// <summary>The receive buffer the device advertises to the guest per connection.</summary>
    public const uint BufferAllocation = 256 * 1024;

    private readonly Queue<byte[]> _pending = new();
    private int _pendingHeadOffset;

    public Socket Socket { get; } = socket;

    public VsockConnectionState State { get; set; } = state;

    /// <summary>The host side's port: the port a guest connected to, or the one allocated for a host connection.</summary>
    public uint LocalPort { get; } = localPort;

    /// <summary>The guest side's port.</summary>
    public uint PeerPort { get; set; } = peerPort;

    /// <summary>A host connection's CONNECT line as it arrives (it may come in pieces).</summary>
    public List<byte> ConnectLine { get; } = [];

    /// <summary>Bytes received from the guest, and of those, bytes handed to the host socket (fwd_cnt).</summary>
    public uint ReceivedCount { get; private set; }

    public uint ForwardedCount { get; private set; }

    /// <summary>The forward count the guest last heard, so credit updates go out only when they matter.</summary>
    public uint ReportedForwardCount { get; set; }

    /// <summary>The guest's receive credit: its buffer, and how much of what it got it has consumed.</summary>
    public uint PeerBufferAllocation { get; set; }

    public uint PeerForwardCount { get; set; }

    /// <summary>Bytes sent to the guest (tx_cnt).</summary>
    public uint SentCount { get; set; }

    /// <summary>The guest will take no more data (SHUTDOWN with RCV).</summary>
    public bool SendClosed { get; set; }

    /// <summary>The host socket reached end of stream and the guest was told (SHUTDOWN with SEND).</summary>
    public bool HostEnded { get; set; }

    public int PendingBytes { get; private set; }

    /// <summary>How many more bytes the guest can take now: buf_alloc - (tx_cnt - fwd_cnt).</summary>
    public uint PeerCredit
    {
        get
        {
            var inFlight = SentCount - PeerForwardCount;
            return inFlight >= PeerBufferAllocation ? 0 : PeerBufferAllocation - inFlight;
        }
    }

    /// <summary>What the guest may still send before the device's buffer is full.</summary>
    public uint OwnCredit => BufferAllocation - (ReceivedCount - ForwardedCount);

    /// <summary>Takes guest data: straight to the host socket when nothing waits, the rest queued. False: socket failed.</summary>
    public bool Accept(ReadOnlySpan<byte> data)
    {
        ReceivedCount += (uint)data.Length;
        if (PendingBytes == 0)
        {
            var sent = TrySend(data);
            if (sent < 0)
            {
                return false;
            }

            data = data[sent..];
        }

        if (!data.IsEmpty)
        {
            _pending.Enqueue(data.ToArray());
            PendingBytes += data.Length;
        }

        return true;
    }

    /// <summary>Sends what waits, as far as the socket takes it. False: socket failed.</summary>
    public bool Flush()
    {
        while (_pending.TryPeek(out var head))
        {
            var sent = TrySend(head.AsSpan(_pendingHeadOffset));
            if (sent < 0)
            {
                return false;
            }

            _pendingHeadOffset += sent;
            PendingBytes -= sent;
            if (_pendingHeadOffset < head.Length)
            {
                return true;
            }

            _pending.Dequeue();
            _pendingHeadOffset = 0;
        }

        return true;
    }

    private int TrySend(ReadOnlySpan<byte> data)
    {
        var sent = Socket.Send(data, SocketFlags.None, out var error);
        if (error is SocketError.WouldBlock)
        {
            return 0;
        }

        if (error is not SocketError.Success)
        {
            return -1;
        }

        ForwardedCount += (uint)sent;
        return sent;
    }
}
