using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// The Unix-socket side of virtio-vsock (Firecracker's hybrid model): the VM's listening socket, every connection,
/// the control packets waiting for the guest, and one host thread (<c>VsockMuxer.HostThread.cs</c>) that polls the
/// sockets and fills the receive queue. Guest packets arrive on the notifying vCPU thread through
/// <see cref="FromGuest"/> and are served without blocking (non-blocking connects and sends). This file holds the
/// shared state and the guest-to-host direction.
/// </summary>
internal sealed partial class VsockMuxer : IParkableThreads, IDisposable
{
    public const int MaxConnections = 256;

    private readonly object _lock = new();
    private readonly List<VsockConnection> _connections = [];
    private readonly VsockControlQueue _control = new();
    private readonly Socket _listener;
    private readonly ILogger _logger;
    private readonly Wakeup _wakeup = new();
    private Thread _worker;
    private readonly ulong _guestCid;
    private readonly string _socketPath;

    // One guest packet's payload; its only user runs under the transport's lock (the device's Handle).
    private readonly byte[] _guestData = new byte[VirtioVsock.MaxPayload];
    private IVirtqueueFiller? _filler;
    private bool _receiveBuffersAvailable;
    private uint _nextHostPort = VirtioVsock.FirstHostPort;
    private volatile bool _stopping;
    private volatile bool _parking;
    private long _opened, _refused, _malformed, _bytesToGuest, _bytesFromGuest;

    public VsockMuxer(ulong guestCid, string socketPath, ILogger logger)
    {
        _guestCid = guestCid;
        _socketPath = socketPath;
        _logger = logger;
        _listener = Listen(socketPath);
        _fillControl = FillControl;
        _fillFromHost = FillFromHost;
        _worker = StartWorker();
    }

    public VsockStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return new(_opened, _refused, _malformed, _bytesToGuest, _bytesFromGuest, _control.Dropped, LiveConnections);
            }
        }
    }

    private int LiveConnections => _connections.Count(c => c.State != VsockConnectionState.Closed);

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

    public void ReceiveBuffersAdded()
    {
        lock (_lock)
        {
            _receiveBuffersAvailable = true;
        }

        _wakeup.Signal();
    }

    /// <summary>A guest packet too short to hold a header.</summary>
    public void CountMalformed() => Interlocked.Increment(ref _malformed);

    /// <summary>
    /// One packet from the guest. Replies are queued for the host thread, which is woken only when it has something new
    /// to do (a reply, a connection opened or closed, a socket to watch differently): data the host socket took at once
    /// costs no thread switch.
    /// </summary>
    public void FromGuest(VsockHeader header, DescriptorChain chain, GuestMemory memory)
    {
        bool wake;
        lock (_lock)
        {
            wake = Route(header, chain, memory);
        }

        if (wake)
        {
            _wakeup.Signal();
        }
    }

    /// <summary>Parks the host thread after its current round: host sockets are neither read nor accepted until <see cref="Unpark"/>.</summary>
    public void Park()
    {
        _parking = true;
        _wakeup.Signal();
        _worker.Join();
    }

    public void Unpark()
    {
        _parking = false;
        _worker = StartWorker();
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
        File.Delete(_socketPath);
        _wakeup.Dispose();
    }

    private Thread StartWorker()
    {
        var worker = new Thread(WorkUntilStopped) { IsBackground = true, Name = $"virtio-vsock {_guestCid}" };
        worker.Start();
        return worker;
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

    /// <summary>Serves one guest packet; true when the host thread has something new to do.</summary>
    private bool Route(VsockHeader header, DescriptorChain chain, GuestMemory memory)
    {
        if (header.SourceCid != _guestCid || header.DestinationCid != VirtioVsock.HostCid)
        {
            // Not addressed as this guest to the host: nobody to answer.
            _malformed++;
            return false;
        }

        var connection = Find(header.DestinationPort, header.SourcePort);
        if (header.Length != chain.ReadableLength - VsockHeader.Size || header.Length > VirtioVsock.MaxPayload
            || header.Type != VsockHeader.TypeStream || header.Op is VsockOp.Invalid or > VsockOp.CreditRequest)
        {
            _malformed++;
            Refuse(header, connection);
            return true;
        }

        if (connection is null)
        {
            if (header.Op == VsockOp.Request)
            {
                ConnectToHost(header);
            }
            else if (header.Op != VsockOp.Reset)
            {
                _control.Enqueue(ReplyTo(header, VsockOp.Reset));
            }

            return true;
        }

        var watchedBefore = connection.PollEvents(_receiveBuffersAvailable);
        var payload = _guestData.AsSpan(0, (int)header.Length);
        chain.CopyFromReadable(memory, VsockHeader.Size, payload);
        var outcome = connection.FromGuest(header, payload);
        Apply(connection, header, outcome);
        return outcome != GuestPacketOutcome.None || connection.PollEvents(_receiveBuffersAvailable) != watchedBefore;
    }

    private void Apply(VsockConnection connection, VsockHeader header, GuestPacketOutcome outcome)
    {
        if (outcome.HasFlag(GuestPacketOutcome.Opened))
        {
            _opened++;
        }

        if (outcome.HasFlag(GuestPacketOutcome.Malformed))
        {
            _malformed++;
        }

        if (outcome.HasFlag(GuestPacketOutcome.OverCredit))
        {
            _logger.LogDebug("virtio-vsock {Cid}: guest port {Port} sent {Length} bytes past its credit of {Credit}; reset",
                _guestCid, connection.PeerPort, header.Length, connection.OwnCredit);
            _refused++;
        }

        if (header.Op == VsockOp.ReadWrite && (outcome & (GuestPacketOutcome.OverCredit | GuestPacketOutcome.Malformed)) == 0)
        {
            _bytesFromGuest += header.Length;
        }

        if (outcome.HasFlag(GuestPacketOutcome.Reset) || outcome.HasFlag(GuestPacketOutcome.Close))
        {
            Close(connection, resetGuest: outcome.HasFlag(GuestPacketOutcome.Reset));
        }
        else if (outcome.HasFlag(GuestPacketOutcome.CreditUpdate))
        {
            _control.Enqueue(connection.PacketHeader(_guestCid, VsockOp.CreditUpdate));
        }
    }

    private void ConnectToHost(VsockHeader request)
    {
        if (LiveConnections >= MaxConnections)
        {
            _refused++;
            _control.Enqueue(ReplyTo(request, VsockOp.Reset));
            return;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            // Non-blocking: a listener whose backlog is full refuses (EAGAIN) instead of stalling this vCPU.
            socket.Connect(new UnixDomainSocketEndPoint($"{_socketPath}_{request.DestinationPort.ToString(CultureInfo.InvariantCulture)}"));
        }
        catch (SocketException)
        {
            socket.Dispose();
            _refused++;
            _control.Enqueue(ReplyTo(request, VsockOp.Reset));
            return;
        }

        var connection = new VsockConnection(socket, VsockConnectionState.Established, request.DestinationPort, request.SourcePort);
        connection.TakePeerCredit(request);
        _connections.Add(connection);
        _opened++;
        _control.Enqueue(connection.PacketHeader(_guestCid, VsockOp.Response));
    }

    /// <summary>The live connection between host port <paramref name="localPort"/> and guest port <paramref name="peerPort"/>, if any.</summary>
    private VsockConnection? Find(uint localPort, uint peerPort) =>
        _connections.Find(c => c.LocalPort == localPort && c.PeerPort == peerPort
            && c.State is not (VsockConnectionState.Closed or VsockConnectionState.AwaitingConnectLine));

    private void Refuse(VsockHeader header, VsockConnection? connection)
    {
        if (connection is not null)
        {
            Close(connection, resetGuest: true);
        }
        else if (header.Op != VsockOp.Reset)
        {
            _control.Enqueue(ReplyTo(header, VsockOp.Reset));
        }
    }

    /// <summary>Ends a connection; the host thread closes its socket (it may be polling it now).</summary>
    private void Close(VsockConnection connection, bool resetGuest)
    {
        if (resetGuest && connection.State is not (VsockConnectionState.AwaitingConnectLine or VsockConnectionState.Closed))
        {
            _control.Enqueue(connection.PacketHeader(_guestCid, VsockOp.Reset));
        }

        connection.State = VsockConnectionState.Closed;
    }

    private VsockHeader ReplyTo(VsockHeader header, VsockOp op) =>
        new(VirtioVsock.HostCid, _guestCid, header.DestinationPort, header.SourcePort, 0, VsockHeader.TypeStream, op, 0, 0, 0);
}
