using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Vsock;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Tests.Devices.Virtio.Vsock;

/// <summary>virtio-vsock with the test driver as the guest's driver and real Unix sockets on the host side.</summary>
public sealed class VirtioVsockTests : IDisposable
{
    private const uint GuestPort = 5000;
    private const uint GuestSourcePort = 1234;
    private readonly VsockTestGuest _guest = new();

    public void Dispose() => _guest.Dispose();

    [Fact]
    public void Identifies_as_vsock_with_its_cid_and_no_device_features()
    {
        Assert.Equal((uint)VirtioDeviceType.Vsock, _guest.Driver.ReadRegister(DeviceId));
        Assert.Equal(VirtioFeature.Transport, _guest.Driver.ReadDeviceFeatures());
        var config = new byte[8];
        _guest.Driver.Transport.Read(Config, config);
        Assert.Equal(VsockTestGuest.Cid, BitConverter.ToUInt64(config));
    }

    [Fact]
    public void A_host_connect_reaches_the_guest_listener_and_bytes_echo_both_ways()
    {
        var (host, hostPort) = _guest.ConnectFromHost(GuestPort);
        using (host)
        {
            Assert.True(hostPort >= VirtioVsock.FirstHostPort);
            host.Send("ping\n"u8);
            var data = _guest.ReceiveNot();
            Assert.Equal((VsockOp.ReadWrite, "ping\n"), (data.Header.Op, Encoding.ASCII.GetString(data.Payload)));

            _guest.Send(_guest.Header(GuestPort, hostPort, VsockOp.ReadWrite, 5), "pong\n"u8.ToArray());
            Assert.Equal("pong\n", VsockTestGuest.ReadLine(host));
        }

        // The host closed: the guest is told the host sends no more, and its RST ends the connection.
        var shutdown = _guest.ReceiveNot();
        Assert.Equal((VsockOp.Shutdown, VsockHeader.ShutdownSend), (shutdown.Header.Op, shutdown.Header.Flags));
        _guest.Send(_guest.Header(GuestPort, hostPort, VsockOp.Reset));
        WaitFor(() => _guest.Device.Statistics.OpenConnections == 0);
        Assert.Equal((1, 5L, 5L), (_guest.Device.Statistics.ConnectionsOpened, _guest.Device.Statistics.BytesToGuest, _guest.Device.Statistics.BytesFromGuest));
    }

    [Fact]
    public void A_host_that_shuts_down_sending_still_gets_the_guest_answer()
    {
        var (host, hostPort) = _guest.ConnectFromHost(GuestPort);
        using (host)
        {
            host.Send("question\n"u8);
            host.Shutdown(SocketShutdown.Send);
            Assert.Equal("question\n", Encoding.ASCII.GetString(_guest.ReceiveNot().Payload));
            var shutdown = _guest.ReceiveNot().Header;
            Assert.Equal((VsockOp.Shutdown, VsockHeader.ShutdownSend), (shutdown.Op, shutdown.Flags));

            _guest.Send(_guest.Header(GuestPort, hostPort, VsockOp.ReadWrite, 7), "answer\n"u8.ToArray());
            _guest.Send(_guest.Header(GuestPort, hostPort, VsockOp.Shutdown, flags: VsockHeader.ShutdownReceive | VsockHeader.ShutdownSend));

            Assert.Equal("answer\n", VsockTestGuest.ReadLine(host));
            Assert.Equal(string.Empty, VsockTestGuest.ReadLine(host));
            Assert.Equal(VsockOp.Reset, _guest.ReceiveNot().Header.Op);
        }
    }

    [Fact]
    public void A_host_connect_to_a_port_nobody_listens_on_in_the_guest_is_closed()
    {
        using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(_guest.SocketPath));
        host.Send("CONNECT 7\n"u8);
        var request = _guest.ReceiveNot();
        _guest.Send(_guest.Header(7, request.Header.SourcePort, VsockOp.Reset));

        Assert.Equal(string.Empty, VsockTestGuest.ReadLine(host));
    }

    [Theory]
    [InlineData("HELLO 5000\n")]
    [InlineData("CONNECT -1\n")]
    [InlineData("CONNECT 99999999999\n")]
    [InlineData("CONNECT 5000 and then a line longer than thirty-two bytes\n")]
    public void A_host_that_does_not_send_a_connect_line_is_dropped_and_counted(string line)
    {
        using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(_guest.SocketPath));
        host.Send(Encoding.ASCII.GetBytes(line));

        Assert.Equal(string.Empty, VsockTestGuest.ReadLine(host));
        Assert.Equal(1, _guest.Device.Statistics.ConnectionsRefused);
        Assert.Null(_guest.Receive(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void A_guest_connect_to_host_port_p_reaches_the_listener_on_path_underscore_p()
    {
        using var listener = Listen(6000);
        _guest.Send(_guest.Header(GuestSourcePort, 6000, VsockOp.Request));
        var response = _guest.ReceiveNot();
        Assert.Equal((VsockOp.Response, 6000u, GuestSourcePort), (response.Header.Op, response.Header.SourcePort, response.Header.DestinationPort));
        using var accepted = VsockTestGuest.Accept(listener, VsockTestGuest.Wait);

        _guest.Send(_guest.Header(GuestSourcePort, 6000, VsockOp.ReadWrite, 6), "hello\n"u8.ToArray());
        Assert.Equal("hello\n", VsockTestGuest.ReadLine(accepted));
        accepted.Send("world"u8);
        Assert.Equal("world", Encoding.ASCII.GetString(_guest.ReceiveNot().Payload));
    }

    [Fact]
    public void A_guest_connect_to_a_host_port_nobody_listens_on_is_reset()
    {
        _guest.Send(_guest.Header(GuestSourcePort, 6001, VsockOp.Request));

        Assert.Equal(VsockOp.Reset, _guest.ReceiveNot().Header.Op);
        Assert.Equal(1, _guest.Device.Statistics.ConnectionsRefused);
    }

    [Fact]
    public void The_device_sends_no_more_than_the_guest_has_credit_for()
    {
        _guest.BufferAllocation = 1000;
        var (host, hostPort) = _guest.ConnectFromHost(GuestPort);
        using (host)
        {
            host.Send(new byte[5000]);

            Assert.Equal(1000, ReceiveData(1000));
            Assert.Null(_guest.Receive(TimeSpan.FromMilliseconds(300)));

            _guest.ForwardCount = 1000;
            _guest.Send(_guest.Header(GuestPort, hostPort, VsockOp.CreditUpdate));
            Assert.Equal(1000, ReceiveData(1000));
        }
    }

    [Fact]
    public void A_guest_that_stops_reading_cannot_make_the_host_side_buffer_without_bound()
    {
        var (host, _) = _guest.ConnectFromHost(GuestPort);
        using (host)
        {
            host.Blocking = false;
            long written = 0;
            var chunk = new byte[64 * 1024];
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < deadline && written < 64L << 20)
            {
                var sent = host.Send(chunk, SocketFlags.None, out var error);
                written += error == SocketError.Success ? sent : 0;
                if (error == SocketError.WouldBlock)
                {
                    Thread.Sleep(10);
                }
            }

            // The guest's 256 KiB of credit, its ring of pages and the socket's own kernel buffer: nothing more moves.
            Assert.InRange(written, 256 * 1024, 8L << 20);
            Assert.InRange(_guest.Device.Statistics.BytesToGuest, 1, 256 * 1024);
        }
    }

    [Fact]
    public void A_guest_sending_past_the_device_credit_is_reset_and_the_device_holds_at_most_its_buffer()
    {
        using var listener = Listen(6002);
        _guest.Send(_guest.Header(GuestSourcePort, 6002, VsockOp.Request));
        Assert.Equal(VsockOp.Response, _guest.ReceiveNot().Header.Op);
        using var neverReads = VsockTestGuest.Accept(listener, VsockTestGuest.Wait);

        var chunk = new byte[VirtioVsock.MaxPayload];
        GuestPacket? reset = null;
        for (var i = 0; i < 200 && reset is null; i++)
        {
            _guest.Send(_guest.Header(GuestSourcePort, 6002, VsockOp.ReadWrite, (uint)chunk.Length), chunk);
            while (reset is null && _guest.Receive(TimeSpan.FromMilliseconds(1)) is { } packet)
            {
                reset = packet.Header.Op == VsockOp.Reset ? packet : null;
            }
        }

        Assert.NotNull(reset);
        Assert.Equal(1, _guest.Device.Statistics.ConnectionsRefused);
        WaitFor(() => _guest.Device.Statistics.OpenConnections == 0);
    }

    [Fact]
    public void Malformed_packets_are_counted_and_reset_and_the_device_keeps_working()
    {
        _guest.SendRaw(new byte[20]);
        _guest.Send(_guest.Header(GuestSourcePort, 6003, VsockOp.ReadWrite, length: 10), new byte[5]);
        _guest.Send(_guest.Header(GuestSourcePort, 6003, VsockOp.Request) with { Type = 2 });
        _guest.Send(_guest.Header(GuestSourcePort, 6003, (VsockOp)99));
        _guest.Send(_guest.Header(GuestSourcePort, 6003, VsockOp.Request) with { SourceCid = 7 });
        _guest.Send(_guest.Header(GuestSourcePort, 6003, VsockOp.Request) with { DestinationCid = VsockTestGuest.Cid });

        Assert.Equal(6, _guest.Device.Statistics.MalformedPackets);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(VsockOp.Reset, _guest.ReceiveNot().Header.Op);
        }

        Assert.Null(_guest.Receive(TimeSpan.FromMilliseconds(100)));
        Assert.False(_guest.Driver.NeedsReset);
        A_guest_connect_to_host_port_p_reaches_the_listener_on_path_underscore_p();
    }

    [Fact]
    public void Data_for_a_connection_that_does_not_exist_is_answered_with_reset()
    {
        _guest.Send(_guest.Header(GuestSourcePort, 6004, VsockOp.ReadWrite, 3), [1, 2, 3]);

        Assert.Equal(VsockOp.Reset, _guest.ReceiveNot().Header.Op);
        Assert.Equal(0, _guest.Device.Statistics.MalformedPackets);
    }

    [Fact]
    public void A_device_reset_ends_every_connection_and_the_host_sees_end_of_stream()
    {
        var (host, _) = _guest.ConnectFromHost(GuestPort);
        using (host)
        {
            _guest.Driver.WriteRegister(Status, 0);

            Assert.Equal(string.Empty, VsockTestGuest.ReadLine(host));
            WaitFor(() => _guest.Device.Statistics.OpenConnections == 0);
        }
    }

    [Fact]
    public void A_socket_path_already_taken_is_refused_and_the_socket_is_removed_with_the_device()
    {
        Assert.True(File.Exists(_guest.SocketPath));
        var error = Assert.Throws<VsockException>(() => new VirtioVsock(43, _guest.SocketPath, NullLogger.Instance));
        Assert.Equal(_guest.SocketPath, error.Path);

        var other = Path.Combine(_guest.Directory.FullName, "other");
        new VirtioVsock(44, other, NullLogger.Instance).Dispose();
        Assert.False(File.Exists(other));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(2UL)]
    [InlineData(0xFFFF_FFFFUL)]
    public void Reserved_cids_are_refused(ulong cid) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VirtioVsock(cid, Path.Combine(_guest.Directory.FullName, "x"), NullLogger.Instance));

    private Socket Listen(uint port)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint($"{_guest.SocketPath}_{port}"));
        listener.Listen(4);
        return listener;
    }

    /// <summary>Takes data packets until <paramref name="expected"/> bytes came; returns the total.</summary>
    private int ReceiveData(int expected)
    {
        var total = 0;
        while (total < expected)
        {
            var packet = _guest.ReceiveNot();
            Assert.Equal(VsockOp.ReadWrite, packet.Header.Op);
            total += packet.Payload.Length;
        }

        return total;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + VsockTestGuest.Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            Thread.Sleep(5);
        }
    }
}
