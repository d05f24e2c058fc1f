using System.Net.Sockets;
using PvhVm.Core.Devices.Virtio.Vsock;

namespace PvhVm.Core.Tests.Devices.Virtio.Vsock;

/// <summary>
/// Floods from either side of virtio-vsock meet fixed bounds: a guest that never empties its receive queue gets at
/// most <see cref="VsockControlQueue.MaxPending"/> replies held for it, a host that opens connections without end
/// gets at most <see cref="VsockMuxer.MaxConnections"/>; the rest is counted and the device goes on working.
/// </summary>
public sealed class VsockFloodTests
{
    private const uint NobodyListens = 6100;

    [Fact]
    public void A_guest_that_never_empties_its_receive_queue_cannot_pile_up_replies_without_bound()
    {
        using var guest = new VsockTestGuest(postReceiveBuffers: false);
        const int Requests = VsockControlQueue.MaxPending + 76;

        // Each connect to a host port nobody listens on earns a reset the guest has no buffer for.
        for (uint port = 0; port < Requests; port++)
        {
            guest.Send(guest.Header(10_000 + port, NobodyListens, VsockOp.Request));
        }

        var statistics = guest.Device.Statistics;
        Assert.Equal(Requests, statistics.ConnectionsRefused);
        Assert.Equal(Requests - VsockControlQueue.MaxPending, statistics.ControlDropped);

        // Buffers at last: exactly the held replies arrive, in order, and nothing else.
        guest.PostReceiveBuffers(VsockTestGuest.ReceiveSlots);
        for (uint port = 0; port < VsockControlQueue.MaxPending; port++)
        {
            var reset = guest.Receive();
            Assert.NotNull(reset);
            Assert.Equal((VsockOp.Reset, 10_000 + port), (reset.Header.Op, reset.Header.DestinationPort));
        }

        Assert.Null(guest.Receive(TimeSpan.FromMilliseconds(300)));
        var (host, _) = guest.ConnectFromHost(5000);
        host.Dispose();
    }

    [Fact]
    public void A_host_that_opens_connections_without_end_is_turned_away_past_the_limit()
    {
        using var guest = new VsockTestGuest();
        var held = new List<Socket>();
        try
        {
            // Connections that never send their CONNECT line still count: a host cannot open more than the limit.
            for (var i = 0; i < VsockMuxer.MaxConnections; i++)
            {
                held.Add(ConnectToDevice(guest));
            }

            Eventually.True(() => guest.Device.Statistics.OpenConnections == VsockMuxer.MaxConnections, VsockTestGuest.Wait, "all connections held");
            using var oneTooMany = ConnectToDevice(guest);
            oneTooMany.ReceiveTimeout = (int)VsockTestGuest.Wait.TotalMilliseconds;
            Assert.Equal(0, oneTooMany.Receive(new byte[1]));
            Assert.Equal(1, guest.Device.Statistics.ConnectionsRefused);

            // Closing one makes room again.
            held[0].Dispose();
            Eventually.True(() => guest.Device.Statistics.OpenConnections < VsockMuxer.MaxConnections, VsockTestGuest.Wait, "a closed connection let go");
            var (host, _) = guest.ConnectFromHost(5000);
            host.Dispose();
        }
        finally
        {
            held.ForEach(socket => socket.Dispose());
        }
    }

    private static Socket ConnectToDevice(VsockTestGuest guest)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(guest.SocketPath));
        return socket;
    }
}
