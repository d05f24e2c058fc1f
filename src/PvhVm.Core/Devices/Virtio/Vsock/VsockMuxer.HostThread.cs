using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// The muxer's host thread: polls the wake-up, the VM's listening socket and every connection with work, accepts host
/// connections and reads their CONNECT lines, flushes what waits for a host socket, and fills the guest's receive
/// queue with control packets first, then host data up to the guest's credit.
/// </summary>
internal sealed partial class VsockMuxer
{
    private readonly ChainFiller _fillControl;
    private readonly ChainFiller _fillFromHost;

    // One packet to the guest; its users run under the transport's lock (TryFill callbacks).
    private readonly byte[] _hostData = new byte[VirtioVsock.MaxPayload];
    private readonly byte[] _packet = new byte[VsockHeader.Size + VirtioVsock.MaxPayload];
    private VsockConnection? _reading;

    /// <summary>Nothing the thread meets may take the host process down (an unhandled exception on a thread would).</summary>
    private void WorkUntilStopped()
    {
        try
        {
            Work();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "virtio-vsock {Cid}: stopped by an unexpected failure; host connections are no longer served", _guestCid);
        }
    }

    private void Work()
    {
        var polled = new List<VsockConnection>();
        var fds = new Libc.PollFd[2 + MaxConnections];
        while (!_stopping && !_parking)
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
            var events = connection.PollEvents(_receiveBuffersAvailable);
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

            var result = filler?.TryFill(VirtioVsock.ReceiveQueue, _fillControl) ?? FillResult.NotLive;
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
            // This thread is the only consumer and checked the queue; a reset in between makes TryFill refuse first.
            return WritePacket(chain, memory, _control.Dequeue(), ReadOnlySpan<byte>.Empty);
        }
    }

    private uint WritePacket(DescriptorChain chain, GuestMemory memory, VsockHeader header, ReadOnlySpan<byte> payload)
    {
        if (chain.WritableLength < (ulong)(VsockHeader.Size + payload.Length))
        {
            // A driver whose buffer cannot hold a header gets nothing; the packet is lost like a dropped control reply.
            _control.CountDropped();
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
            _nextHostPort = _nextHostPort == uint.MaxValue ? VirtioVsock.FirstHostPort : _nextHostPort + 1;
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

            if (connection.CreditUpdateDue)
            {
                _control.Enqueue(connection.PacketHeader(_guestCid, VsockOp.CreditUpdate));
            }

            readFromHost = (events & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) != 0 && connection.State == VsockConnectionState.Established;
        }

        if (readFromHost)
        {
            ForwardFromHost(connection);
        }
    }

    private void ReadConnectLine(VsockConnection connection)
    {
        switch (connection.ReadConnectLine())
        {
            case ConnectLineResult.Refused:
                RefuseHost(connection);
                break;
            case ConnectLineResult.Complete:
                _control.Enqueue(new VsockHeader(VirtioVsock.HostCid, _guestCid, connection.LocalPort, connection.PeerPort, 0,
                    VsockHeader.TypeStream, VsockOp.Request, 0, VsockConnection.BufferAllocation, 0));
                break;
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

        if (filler?.TryFill(VirtioVsock.ReceiveQueue, _fillFromHost) is FillResult.NoBuffer or FillResult.NotLive or null)
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
            var room = (int)Math.Min((ulong)VirtioVsock.MaxPayload,
                chain.WritableLength > VsockHeader.Size ? chain.WritableLength - VsockHeader.Size : 0);
            var (op, length) = connection.ReadForGuest(_hostData.AsSpan(0, room));
            _bytesToGuest += length;
            var flags = op == VsockOp.Shutdown ? VsockHeader.ShutdownSend : 0;
            return WritePacket(chain, memory, connection.PacketHeader(_guestCid, op, (uint)length, flags), _hostData.AsSpan(0, length));
        }
    }
}
