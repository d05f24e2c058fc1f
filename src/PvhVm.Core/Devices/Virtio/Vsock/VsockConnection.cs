using System.Globalization;
using System.Net.Sockets;
using System.Text;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// One stream between a host Unix socket and a guest port: its state machine and both sides' credit (VIRTIO 1.2,
/// section 5.10.6.3). Guest-to-host bytes the host socket cannot take at once wait in <see cref="_pending"/>, which the
/// guest's credit bounds at <see cref="BufferAllocation"/>. Guarded by the muxer's lock.
/// </summary>
internal sealed class VsockConnection(Socket socket, VsockConnectionState state, uint localPort, uint peerPort)
{
    /// <summary>The receive buffer the device advertises to the guest per connection.</summary>
    public const uint BufferAllocation = 256 * 1024;

    public const int MaxConnectLine = 32;

    private readonly Queue<byte[]> _pending = new();
    private readonly List<byte> _connectLine = [];
    private int _pendingHeadOffset;

    public Socket Socket { get; } = socket;

    public VsockConnectionState State { get; set; } = state;

    /// <summary>The host side's port: the port a guest connected to, or the one allocated for a host connection.</summary>
    public uint LocalPort { get; } = localPort;

    /// <summary>The guest side's port.</summary>
    public uint PeerPort { get; private set; } = peerPort;

    /// <summary>Bytes received from the guest, and of those, bytes handed to the host socket (fwd_cnt).</summary>
    public uint ReceivedCount { get; private set; }

    public uint ForwardedCount { get; private set; }

    /// <summary>The forward count the guest last heard, so credit updates go out only when they matter.</summary>
    public uint ReportedForwardCount { get; private set; }

    /// <summary>The guest's receive credit: its buffer, and how much of what it got it has consumed.</summary>
    public uint PeerBufferAllocation { get; private set; }

    public uint PeerForwardCount { get; private set; }

    /// <summary>Bytes sent to the guest (tx_cnt).</summary>
    public uint SentCount { get; private set; }

    /// <summary>The guest will take no more data (SHUTDOWN with RCV).</summary>
    public bool SendClosed { get; private set; }

    /// <summary>The host socket reached end of stream and the guest was told (SHUTDOWN with SEND).</summary>
    public bool HostEnded { get; private set; }

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

    /// <summary>Whether the guest should hear the forward count: a quarter of the buffer moved since it last did.</summary>
    public bool CreditUpdateDue => ForwardedCount - ReportedForwardCount >= BufferAllocation / 4;

    /// <summary>Every guest packet carries the guest's credit for this connection.</summary>
    public void TakePeerCredit(VsockHeader header)
    {
        PeerBufferAllocation = header.BufferAllocation;
        PeerForwardCount = header.ForwardCount;
    }

    /// <summary>A packet's header from this connection's host side, carrying its credit (which the guest has then heard).</summary>
    public VsockHeader PacketHeader(ulong guestCid, VsockOp op, uint length = 0, uint flags = 0)
    {
        ReportedForwardCount = ForwardedCount;
        return new VsockHeader(VirtioVsock.HostCid, guestCid, LocalPort, PeerPort, length, VsockHeader.TypeStream, op, flags,
            BufferAllocation, ForwardedCount);
    }

    /// <summary>Which socket events the muxer waits for: data to read when the guest can take it, room to write when bytes wait.</summary>
    public short PollEvents(bool receiveBuffersAvailable)
    {
        var wantsRead = State == VsockConnectionState.AwaitingConnectLine
            || (State == VsockConnectionState.Established && !SendClosed && !HostEnded && PeerCredit > 0 && receiveBuffersAvailable);
        return (short)((wantsRead ? Libc.POLLIN : 0) | (PendingBytes > 0 ? Libc.POLLOUT : 0));
    }

    /// <summary>
    /// One guest packet (addressed to this live connection, its length and operation already checked), with its
    /// payload. Moves the state machine and says what the muxer must do.
    /// </summary>
    public GuestPacketOutcome FromGuest(VsockHeader header, ReadOnlySpan<byte> payload)
    {
        TakePeerCredit(header);
        switch (header.Op)
        {
            case VsockOp.Response when State == VsockConnectionState.Connecting:
                State = VsockConnectionState.Established;
                var ok = Encoding.ASCII.GetBytes($"OK {LocalPort}\n");
                return Socket.Send(ok, SocketFlags.None, out var error) != ok.Length || error != SocketError.Success
                    ? GuestPacketOutcome.Opened | GuestPacketOutcome.Reset
                    : GuestPacketOutcome.Opened;
            case VsockOp.ReadWrite when State == VsockConnectionState.Established:
                if (header.Length > OwnCredit)
                {
                    return GuestPacketOutcome.OverCredit | GuestPacketOutcome.Reset;
                }

                if (!Accept(payload))
                {
                    return GuestPacketOutcome.Reset;
                }

                return CreditUpdateDue ? GuestPacketOutcome.CreditUpdate : GuestPacketOutcome.None;
            case VsockOp.CreditUpdate:
                return GuestPacketOutcome.None;
            case VsockOp.CreditRequest:
                return GuestPacketOutcome.CreditUpdate;
            case VsockOp.Shutdown:
                return Shutdown(header.Flags);
            case VsockOp.Reset:
                return GuestPacketOutcome.Close;
            default:
                // A REQUEST on a live connection, a RESPONSE out of turn, data before it is established.
                return GuestPacketOutcome.Malformed | GuestPacketOutcome.Reset;
        }
    }

    /// <summary>
    /// Reads the `CONNECT port\n` line a byte at a time, so data the host sends right after it stays in the socket.
    /// On <see cref="ConnectLineResult.Complete"/> the connection is Connecting to the named guest port.
    /// </summary>
    public ConnectLineResult ReadConnectLine()
    {
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            var read = Socket.Receive(one, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return ConnectLineResult.Incomplete;
            }

            if (error != SocketError.Success || read == 0 || _connectLine.Count >= MaxConnectLine)
            {
                return ConnectLineResult.Refused;
            }

            if (one[0] != (byte)'\n')
            {
                _connectLine.Add(one[0]);
                continue;
            }

            var line = Encoding.ASCII.GetString(_connectLine.ToArray());
            if (!line.StartsWith("CONNECT ", StringComparison.Ordinal)
                || !uint.TryParse(line.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                return ConnectLineResult.Refused;
            }

            PeerPort = port;
            State = VsockConnectionState.Connecting;
            PeerBufferAllocation = 0;
            return ConnectLineResult.Complete;
        }
    }

    /// <summary>
    /// Reads host data for one packet to the guest into <paramref name="payload"/>, no more than its length (the
    /// caller bounds it by the guest's buffer) nor the guest's credit. Returns the packet's operation and payload
    /// length: data, SHUTDOWN(SEND) at the host's end of stream, or a CREDIT_UPDATE when there is nothing to send.
    /// </summary>
    public (VsockOp Op, int Length) ReadForGuest(Span<byte> payload)
    {
        var room = (int)Math.Min((uint)payload.Length, PeerCredit);
        if (State != VsockConnectionState.Established || room == 0)
        {
            return (VsockOp.CreditUpdate, 0);
        }

        var read = Socket.Receive(payload[..room], SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            return (VsockOp.CreditUpdate, 0);
        }

        if (error != SocketError.Success || read == 0)
        {
            // The host program ended its side (perhaps only shut down sending, waiting for the guest's answer): the
            // guest reads end of stream and may still send; its own SHUTDOWN or RST ends the connection.
            HostEnded = true;
            return (VsockOp.Shutdown, 0);
        }

        SentCount += (uint)read;
        return (VsockOp.ReadWrite, read);
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

    private GuestPacketOutcome Shutdown(uint flags)
    {
        const uint both = VsockHeader.ShutdownReceive | VsockHeader.ShutdownSend;
        if ((flags & both) == both)
        {
            // The guest closed: it waits for our RST (Linux's virtio_transport_close).
            return GuestPacketOutcome.Reset;
        }

        if ((flags & VsockHeader.ShutdownReceive) != 0)
        {
            SendClosed = true;
        }

        if ((flags & VsockHeader.ShutdownSend) != 0 && PendingBytes == 0)
        {
            Socket.Shutdown(SocketShutdown.Send);
        }

        return GuestPacketOutcome.None;
    }

    /// <summary>Takes guest data: straight to the host socket when nothing waits, the rest queued. False: socket failed.</summary>
    private bool Accept(ReadOnlySpan<byte> data)
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
