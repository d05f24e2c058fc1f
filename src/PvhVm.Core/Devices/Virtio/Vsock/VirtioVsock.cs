using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// virtio-vsock (device ID 19, VIRTIO 1.2 section 5.10), stream sockets only, in user space with Firecracker's hybrid
/// model: the VM has one Unix socket on the host (<see cref="SocketPath"/>). A host program connects to it and writes
/// `CONNECT port\n`; once the guest's listener accepts, it reads `OK hostport\n` and then has a byte stream. A guest
/// connecting to host port P reaches whatever listens on `SocketPath_P`. Guest packets are served on the notifying
/// vCPU thread without blocking (non-blocking connects and sends); one host thread polls the sockets and fills the
/// receive queue. Both directions respect credit: the device reads from a host socket only what the guest has room
/// for, and a guest that sends past the device's buffer loses the connection, so no side can make the host buffer
/// without bound. Hostile packets are counted and answered with RST; the device itself never fails because of them.
/// </summary>
internal sealed class VirtioVsock : IVirtioDevice, IDeviceDrivenQueues, IDisposable
{
    public const ushort QueueSize = 256;
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int EventQueue = 2;

    public const ulong HostCid = 2;

    /// <summary>Ports the device gives host-initiated connections start here (Firecracker's choice), far from guest services.</summary>
    public const uint FirstHostPort = 1u << 30;

    public const int MaxConnections = 256;

    /// <summary>Control replies (RESPONSE, RST, credit) waiting for a guest that does not read: beyond this they are dropped.</summary>
    public const int MaxPendingControl = 1024;

    public const int MaxConnectLine = 32;

    /// <summary>Payload of one packet at most, either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).</summary>
    public const int MaxPayload = 64 * 1024;

    private readonly object _lock = new();
    private readonly List<VsockConnection> _connections = [];
    private readonly Queue<VsockHeader> _control = new();
    private readonly Socket _listener;
    private readonly ILogger _logger;
    private readonly Wakeup _wakeup = new();
    private readonly Thread _worker;

    // Buffers for one packet each way. Every user runs under the transport's lock (Handle, or a TryFill callback).
    private readonly byte[] _guestHeader = new byte[VsockHeader.Size];
    private readonly byte[] _guestData = new byte[MaxPayload];
    private readonly byte[] _hostData = new byte[MaxPayload];
    private readonly byte[] _packet = new byte[VsockHeader.Size + MaxPayload];
    private readonly ChainFiller _fillControl;
    private readonly ChainFiller _fillFromHost;
    private IVirtqueueFiller? _filler;
    private VsockConnection? _reading;
    private bool _receiveBuffersAvailable;
    private uint _nextHostPort = FirstHostPort;
    private volatile bool _stopping;
    private long _opened, _refused, _malformed, _bytesToGuest, _bytesFromGuest, _controlDropped;

    public VirtioVsock(ulong guestCid, string socketPath, ILogger logger)
    {
        if (guestCid is <= HostCid or >= uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(guestCid), guestCid, "A guest CID is 3 or more and below 2^32-1.");
        }

        GuestCid = guestCid;
        SocketPath = socketPath;
        _logger = logger;
        _listener = Listen(socketPath);
        _fillControl = FillControl;
        _fillFromHost = FillFromHost;
        _worker = new Thread(WorkUntilStopped) { IsBackground = true, Name = $"virtio-vsock {guestCid}" };
        _worker.Start();
    }

    public ulong GuestCid { get; }

    public string SocketPath { get; }

    public VirtioDeviceType DeviceType => VirtioDeviceType.Vsock;

    // Stream only: with no feature bit set a driver uses stream sockets (section 5.10.3).
    public ulong Features => 0;

    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [QueueSize, QueueSize, QueueSize];

    public VsockStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return new(_opened, _refused, _malformed, _bytesToGuest, _bytesFromGuest, _controlDropped,
                    _connections.Count(c => c.State != VsockConnectionState.Closed));
            }
        }
    }

    public void ReadConfig(uint offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[8];
        BitConverter.TryWriteBytes(config, GuestCid);
        if (offset < config.Length)
        {
            var available = config[(int)offset..];
            available[..Math.Min(available.Length, data.Length)].CopyTo(data);
        }
    }

    public bool IsDeviceDriven(int queueIndex) => queueIndex != TransmitQueue;

    public void Activate(IVirtqueueFiller filler)
    {
        lock (_lock)
        {
            _filler = filler;
            _receiveBuffersAvailable = true;
        }

        _wakeup.Signal();
    }

    /// <summary>A reset ends every connection (the host side sees end of stream) and forgets what was waiting.</summary>
    public void Deactivate()
    {
        lock (_lock)
        {
            _filler = null;
            _receiveBuffersAvailable = false;
            _control.Clear();
            foreach (var connection in _connections)
            {
                connection.State = VsockConnectionState.Closed;
            }
        }

        _wakeup.Signal();
    }

    public void BuffersAdded(int queueIndex)
    {
        if (queueIndex == ReceiveQueue)
        {
            lock (_lock)
            {
                _receiveBuffersAvailable = true;
            }

            _wakeup.Signal();
        }
    }

    /// <summary>One packet from the guest. Replies are queued for the worker thread, which is woken to deliver them.</summary>
    public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
    {
        if (chain.CopyFromReadable(memory, 0, _guestHeader) < VsockHeader.Size)
        {
            Interlocked.Increment(ref _malformed);
            return 0;
        }

        var header = VsockHeader.Read(_guestHeader);
        lock (_lock)
        {
            Receive(header, chain, memory);
        }

        _wakeup.Signal();
        return 0;
    }

    public void Dispose()
    {
        _stopping = true;
        _wakeup.Signal();
        _worker.Join();
        foreach (var connection in _connections)
        {
            connection.Socket.Dispose();
        }

        _listener.Dispose();
        File.Delete(SocketPath);
        _wakeup.Dispose();
    }

    private static Socket Listen(string path)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new VsockException(path, "something already exists at that path (a VM still running, or a stale socket to remove)");
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(32);
            listener.Blocking = false;
            return listener;
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new VsockException(path, e.Message);
        }
    }

    private void Receive(VsockHeader header, DescriptorChain chain, GuestMemory memory)
    {
        if (header.SourceCid != GuestCid || header.DestinationCid != HostCid)
        {
            // Not addressed as this guest to the host: nobody to answer.
            _malformed++;
            return;
        }

        var connection = Find(header.DestinationPort, header.SourcePort);
        if (header.Length != chain.ReadableLength - VsockHeader.Size || header.Length > MaxPayload
            || header.Type != VsockHeader.TypeStream || header.Op is VsockOp.Invalid or > VsockOp.CreditRequest)
        {
            _malformed++;
            Refuse(header, connection);
            return;
        }

        if (connection is null || connection.State == VsockConnectionState.Closed)
        {
            if (header.Op == VsockOp.Request)
            {
                ConnectToHost(header);
            }
            else if (header.Op != VsockOp.Reset)
            {
                EnqueueControl(ReplyTo(header, VsockOp.Reset));
            }

            return;
        }

        connection.PeerBufferAllocation = header.BufferAllocation;
        connection.PeerForwardCount = header.ForwardCount;
        switch (header.Op)
        {
            case VsockOp.Response when connection.State == VsockConnectionState.Connecting:
                connection.State = VsockConnectionState.Established;
                _opened++;
                var ok = Encoding.ASCII.GetBytes($"OK {connection.LocalPort}\n");
                if (connection.Socket.Send(ok, SocketFlags.None, out var error) != ok.Length || error != SocketError.Success)
                {
                    Close(connection, resetGuest: true);
                }

                break;
            case VsockOp.ReadWrite when connection.State == VsockConnectionState.Established:
                ReceiveData(connection, header, chain, memory);
                break;
            case VsockOp.CreditUpdate:
                break;
            case VsockOp.CreditRequest:
                EnqueueControl(Packet(connection, VsockOp.CreditUpdate));
                break;
            case VsockOp.Shutdown:
                Shutdown(connection, header.Flags);
                break;
            case VsockOp.Reset:
                Close(connection, resetGuest: false);
                break;
            default:
                // A REQUEST on a live connection, a RESPONSE out of turn, data before it is established.
                _malformed++;
                Close(connection, resetGuest: true);
                break;
        }
    }

    private void ReceiveData(VsockConnection connection, VsockHeader header, DescriptorChain chain, GuestMemory memory)
    {
        if (header.Length > connection.OwnCredit)
        {
            _logger.LogDebug("virtio-vsock {Cid}: guest port {Port} sent {Length} bytes past its credit of {Credit}; reset",
                GuestCid, connection.PeerPort, header.Length, connection.OwnCredit);
            _refused++;
            Close(connection, resetGuest: true);
            return;
        }

        var data = _guestData.AsSpan(0, (int)header.Length);
        chain.CopyFromReadable(memory, VsockHeader.Size, data);
        _bytesFromGuest += data.Length;
        if (!connection.Accept(data))
        {
            Close(connection, resetGuest: true);
            return;
        }

        ReportCreditIfDue(connection);
    }

    private void Shutdown(VsockConnection connection, uint flags)
    {
        if ((flags & (VsockHeader.ShutdownReceive | VsockHeader.ShutdownSend)) == (VsockHeader.ShutdownReceive | VsockHeader.ShutdownSend))
        {
            // The guest closed: it waits for our RST (Linux's virtio_transport_close).
            Close(connection, resetGuest: true);
            return;
        }

        if ((flags & VsockHeader.ShutdownReceive) != 0)
        {
            connection.SendClosed = true;
        }

        if ((flags & VsockHeader.ShutdownSend) != 0 && connection.PendingBytes == 0)
        {
            connection.Socket.Shutdown(SocketShutdown.Send);
        }
    }

    private void ConnectToHost(VsockHeader request)
    {
        if (LiveConnections >= MaxConnections)
        {
            _refused++;
            EnqueueControl(ReplyTo(request, VsockOp.Reset));
            return;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            // Non-blocking: a listener whose backlog is full refuses (EAGAIN) instead of stalling this vCPU.
            socket.Connect(new UnixDomainSocketEndPoint($"{SocketPath}_{request.DestinationPort.ToString(CultureInfo.InvariantCulture)}"));
        }
        catch (SocketException)
        {
            socket.Dispose();
            _refused++;
            EnqueueControl(ReplyTo(request, VsockOp.Reset));
            return;
        }

        var connection = new VsockConnection(socket, VsockConnectionState.Established, request.DestinationPort, request.SourcePort)
        {
            PeerBufferAllocation = request.BufferAllocation,
            PeerForwardCount = request.ForwardCount,
        };
        _connections.Add(connection);
        _opened++;
        EnqueueControl(Packet(connection, VsockOp.Response));
    }

    private int LiveConnections => _connections.Count(c => c.State != VsockConnectionState.Closed);

    private VsockConnection? Find(uint localPort, uint peerPort) =>
        _connections.Find(c => c.LocalPort == localPort && c.PeerPort == peerPort && c.State is not (VsockConnectionState.Closed or VsockConnectionState.AwaitingConnectLine));

    private void Refuse(VsockHeader header, VsockConnection? connection)
    {
        if (connection is not null)
        {
            Close(connection, resetGuest: true);
        }
        else if (header.Op != VsockOp.Reset)
        {
            EnqueueControl(ReplyTo(header, VsockOp.Reset));
        }
    }

    /// <summary>Ends a connection; the worker thread closes its socket (it may be polling it now).</summary>
    private void Close(VsockConnection connection, bool resetGuest)
    {
        if (resetGuest && connection.State is not (VsockConnectionState.AwaitingConnectLine or VsockConnectionState.Closed))
        {
            EnqueueControl(Packet(connection, VsockOp.Reset));
        }

        connection.State = VsockConnectionState.Closed;
    }

    private void ReportCreditIfDue(VsockConnection connection)
    {
        if (connection.ForwardedCount - connection.ReportedForwardCount >= VsockConnection.BufferAllocation / 4)
        {
            EnqueueControl(Packet(connection, VsockOp.CreditUpdate));
        }
    }

    private VsockHeader Packet(VsockConnection connection, VsockOp op, uint length = 0, uint flags = 0)
    {
        connection.ReportedForwardCount = connection.ForwardedCount;
        return new VsockHeader(HostCid, GuestCid, connection.LocalPort, connection.PeerPort, length, VsockHeader.TypeStream, op, flags,
            VsockConnection.BufferAllocation, connection.ForwardedCount);
    }

    private VsockHeader ReplyTo(VsockHeader header, VsockOp op) =>
        new(HostCid, GuestCid, header.DestinationPort, header.SourcePort, 0, VsockHeader.TypeStream, op, 0, 0, 0);

    private void EnqueueControl(VsockHeader packet)
    {
        if (_control.Count >= MaxPendingControl)
        {
            _controlDropped++;
            return;
        }

        _control.Enqueue(packet);
    }

    /// <summary>The worker thread: nothing it meets may take the host process down (an unhandled exception on a thread would).</summary>
    private void WorkUntilStopped()
    {
        try
        {
            Work();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "virtio-vsock {Cid}: stopped by an unexpected failure; host connections are no longer served", GuestCid);
        }
    }

    private void Work()
    {
        var polled = new List<VsockConnection>();
        var fds = new Libc.PollFd[2 + MaxConnections];
        while (!_stopping)
        {
            lock (_lock)
            {
                BuildPollSet(polled, fds);
            }

            if (!Poll(fds, 2 + polled.Count))
            {
                continue;
            }

            if (fds[0].ReturnedEvents != 0)
            {
                DrainWakeup();
            }

            DeliverControl();
            if (fds[1].ReturnedEvents != 0)
            {
                AcceptHostConnections();
            }

            for (var i = 0; i < polled.Count; i++)
            {
                var events = fds[2 + i].ReturnedEvents;
                if (events != 0)
                {
                    Serve(polled[i], events);
                }
            }

            DeliverControl();
        }
    }

    /// <summary>Drops closed connections, then lists what to wait for: wakeups, new host connections, sockets with work.</summary>
    private void BuildPollSet(List<VsockConnection> polled, Libc.PollFd[] fds)
    {
        foreach (var closed in _connections.Where(c => c.State == VsockConnectionState.Closed))
        {
            closed.Socket.Dispose();
        }

        _connections.RemoveAll(c => c.State == VsockConnectionState.Closed);
        polled.Clear();
        fds[0] = new Libc.PollFd { Fd = _wakeup.Descriptor, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = (int)_listener.Handle, Events = Libc.POLLIN };
        foreach (var connection in _connections)
        {
            var wantsRead = connection.State == VsockConnectionState.AwaitingConnectLine
                || (connection.State == VsockConnectionState.Established && !connection.SendClosed && !connection.HostEnded && connection.PeerCredit > 0
                    && _receiveBuffersAvailable);
            var events = (short)((wantsRead ? Libc.POLLIN : 0) | (connection.PendingBytes > 0 ? Libc.POLLOUT : 0));
            if (events != 0)
            {
                fds[2 + polled.Count] = new Libc.PollFd { Fd = (int)connection.Socket.Handle, Events = events };
                polled.Add(connection);
            }
        }
    }

    private static unsafe bool Poll(Libc.PollFd[] fds, int count)
    {
        fixed (Libc.PollFd* pointer = fds)
        {
            return Libc.Poll(pointer, (nuint)count, -1) > 0;
        }
    }

    private unsafe void DrainWakeup()
    {
        ulong value;
        Libc.Read(_wakeup.Descriptor, (byte*)&value, sizeof(ulong));
    }

    private void DeliverControl()
    {
        while (true)
        {
            IVirtqueueFiller? filler;
            lock (_lock)
            {
                // Without a driver, go on: TryFill's NotLive refuses what waits.
                if (_control.Count == 0 || (_filler is not null && !_receiveBuffersAvailable))
                {
                    return;
                }

                filler = _filler;
            }

            var result = filler?.TryFill(ReceiveQueue, _fillControl) ?? FillResult.NotLive;
            if (result != FillResult.Filled)
            {
                lock (_lock)
                {
                    _receiveBuffersAvailable = false;
                    if (result == FillResult.NotLive)
                    {
                        // No driver to answer: what waited is moot, and a host connecting now learns at once (end of stream).
                        _control.Clear();
                        foreach (var connecting in _connections.Where(c => c.State == VsockConnectionState.Connecting))
                        {
                            RefuseHost(connecting);
                        }
                    }
                }

                return;
            }
        }
    }

    private uint FillControl(DescriptorChain chain, GuestMemory memory)
    {
        lock (_lock)
        {
            // The worker is the only consumer and checked the queue; a reset in between makes TryFill refuse first.
            return WritePacket(chain, memory, _control.Dequeue(), ReadOnlySpan<byte>.Empty);
        }
    }

    private uint WritePacket(DescriptorChain chain, GuestMemory memory, VsockHeader header, ReadOnlySpan<byte> payload)
    {
        if (chain.WritableLength < (ulong)(VsockHeader.Size + payload.Length))
        {
            // A driver whose buffer cannot hold a header gets nothing; the packet is lost like a dropped control reply.
            _controlDropped++;
            return 0;
        }

        var packet = _packet.AsSpan(0, VsockHeader.Size + payload.Length);
        header.Write(packet);
        payload.CopyTo(packet[VsockHeader.Size..]);

        return (uint)chain.CopyToWritable(memory, 0, packet);
    }

    private void AcceptHostConnections()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = _listener.Accept();
            }
            catch (SocketException)
            {
                return;
            }

            accepted.Blocking = false;
            lock (_lock)
            {
                if (LiveConnections >= MaxConnections)
                {
                    _refused++;
                    accepted.Dispose();
                    continue;
                }

                _connections.Add(new VsockConnection(accepted, VsockConnectionState.AwaitingConnectLine, AllocateHostPort(), 0));
            }
        }
    }

    private uint AllocateHostPort()
    {
        while (_connections.Exists(c => c.LocalPort == _nextHostPort))
        {
            _nextHostPort = _nextHostPort == uint.MaxValue ? FirstHostPort : _nextHostPort + 1;
        }

        return _nextHostPort++;
    }

    private void Serve(VsockConnection connection, short events)
    {
        bool readFromHost;
        lock (_lock)
        {
            if (connection.State == VsockConnectionState.Closed)
            {
                return;
            }

            if ((events & Libc.POLLOUT) != 0 && !connection.Flush())
            {
                Close(connection, resetGuest: true);
                return;
            }

            if (connection.State == VsockConnectionState.AwaitingConnectLine)
            {
                ReadConnectLine(connection);
                return;
            }

            ReportCreditIfDue(connection);
            readFromHost = (events & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) != 0 && connection.State == VsockConnectionState.Established;
        }

        if (readFromHost)
        {
            ForwardFromHost(connection);
        }
    }

    /// <summary>Reads the `CONNECT port\n` line a byte at a time, so data the host sends right after it stays in the socket.</summary>
    private void ReadConnectLine(VsockConnection connection)
    {
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            var read = connection.Socket.Receive(one, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return;
            }

            if (error != SocketError.Success || read == 0 || connection.ConnectLine.Count >= MaxConnectLine)
            {
                RefuseHost(connection);
                return;
            }

            if (one[0] != (byte)'\n')
            {
                connection.ConnectLine.Add(one[0]);
                continue;
            }

            var line = Encoding.ASCII.GetString(connection.ConnectLine.ToArray());
            if (!line.StartsWith("CONNECT ", StringComparison.Ordinal)
                || !uint.TryParse(line.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                RefuseHost(connection);
                return;
            }

            connection.PeerPort = port;
            connection.State = VsockConnectionState.Connecting;
            connection.PeerBufferAllocation = 0;
            EnqueueControl(new VsockHeader(HostCid, GuestCid, connection.LocalPort, port, 0, VsockHeader.TypeStream, VsockOp.Request, 0,
                VsockConnection.BufferAllocation, 0));
            return;
        }
    }

    private void RefuseHost(VsockConnection connection)
    {
        _refused++;
        connection.State = VsockConnectionState.Closed;
    }

    private void ForwardFromHost(VsockConnection connection)
    {
        IVirtqueueFiller? filler;
        lock (_lock)
        {
            filler = _filler;
            _reading = connection;
        }

        if (filler?.TryFill(ReceiveQueue, _fillFromHost) is FillResult.NoBuffer or FillResult.NotLive or null)
        {
            lock (_lock)
            {
                _receiveBuffersAvailable = false;
            }
        }
    }

    /// <summary>One packet from a host socket: data up to the guest's credit and buffer, or SHUTDOWN at end of stream.</summary>
    private uint FillFromHost(DescriptorChain chain, GuestMemory memory)
    {
        lock (_lock)
        {
            var connection = _reading!;
            var room = (int)Math.Min(Math.Min(connection.PeerCredit, (ulong)MaxPayload),
                chain.WritableLength > VsockHeader.Size ? chain.WritableLength - VsockHeader.Size : 0);
            if (connection.State != VsockConnectionState.Established || room == 0)
            {
                // The chain is taken: tell the guest where credit stands instead of leaving it empty.
                return WritePacket(chain, memory, Packet(connection, VsockOp.CreditUpdate), ReadOnlySpan<byte>.Empty);
            }

            var payload = _hostData.AsSpan(0, room);
            var read = connection.Socket.Receive(payload, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return WritePacket(chain, memory, Packet(connection, VsockOp.CreditUpdate), ReadOnlySpan<byte>.Empty);
            }

            if (error != SocketError.Success || read == 0)
            {
                // The host program ended its side (perhaps only shut down sending, waiting for the guest's answer): the
                // guest reads end of stream and may still send; its own SHUTDOWN or RST ends the connection.
                connection.HostEnded = true;
                return WritePacket(chain, memory, Packet(connection, VsockOp.Shutdown, flags: VsockHeader.ShutdownSend), ReadOnlySpan<byte>.Empty);
            }

            connection.SentCount += (uint)read;
            _bytesToGuest += read;
            return WritePacket(chain, memory, Packet(connection, VsockOp.ReadWrite, (uint)read), payload[..read]);
        }
    }
}
