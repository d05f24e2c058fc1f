using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Vsock;

namespace PvhVm.Core.Tests.Devices.Virtio.Vsock;

/// <summary>One packet as the guest's driver sees it.</summary>
internal sealed record GuestPacket(VsockHeader Header, byte[] Payload);

/// <summary>
/// A vsock device with the test driver as its guest's driver: three queues up, receive buffers of one page posted as
/// Linux posts them, packets sent and taken at the header level. The device's socket is in a temporary directory of its own (0700).
/// </summary>
internal sealed class VsockTestGuest : IDisposable
{
    public const ulong Cid = 42;
    public const ushort ReceiveSlots = 32;
    public const uint ReceiveBufferBytes = 4096;
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly TestQueue _receive;
    private readonly TestQueue _transmit;
    private readonly TestQueue _events;
    private int _receivePosted;

    public VsockTestGuest(bool postReceiveBuffers = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("pvhvm-vsock-");
        SocketPath = Path.Combine(Directory.FullName, "vsock");
        Device = new VirtioVsock(Cid, SocketPath, NullLogger.Instance);
        Driver = new VirtioTestDriver(Device);
        _receive = new TestQueue(Driver, VirtioVsock.ReceiveQueue, ReceiveSlots);
        _transmit = new TestQueue(Driver, VirtioVsock.TransmitQueue, 64);
        _events = new TestQueue(Driver, VirtioVsock.EventQueue, 8);
        Assert.True(Driver.Negotiate(Driver.ReadDeviceFeatures()));
        _receive.SetUp();
        _transmit.SetUp();
        _events.SetUp();
        Driver.DriverOk();
        if (postReceiveBuffers)
        {
            PostReceiveBuffers(ReceiveSlots);
        }
    }

    public DirectoryInfo Directory { get; }

    public string SocketPath { get; }

    public VirtioVsock Device { get; }

    public VirtioTestDriver Driver { get; }

    /// <summary>What the guest's socket advertises as its receive buffer in every packet it sends.</summary>
    public uint BufferAllocation { get; set; } = 256 * 1024;

    /// <summary>Bytes the guest's sockets have consumed (fwd_cnt), per connection in real drivers; one connection per test here.</summary>
    public uint ForwardCount { get; set; }

    public void PostReceiveBuffers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var slot = (ushort)((_receivePosted + i) % ReceiveSlots);
            _receive.Post(new TestBuffer(_receive.DataArea + slot * (ulong)ReceiveBufferBytes, ReceiveBufferBytes, DeviceWritable: true));
        }

        _receivePosted += count;
        _receive.Notify();
    }

    public VsockHeader Header(uint sourcePort, uint destinationPort, VsockOp op, uint length = 0, uint flags = 0) =>
        new(Cid, VirtioVsock.HostCid, sourcePort, destinationPort, length, VsockHeader.TypeStream, op, flags, BufferAllocation, ForwardCount);

    public void Send(VsockHeader header, byte[]? payload = null)
    {
        var headerAddress = _transmit.DataArea;
        var bytes = new byte[VsockHeader.Size];
        header.Write(bytes);
        bytes.CopyTo(Driver.Memory.GetSpan(headerAddress, VsockHeader.Size));
        if (payload is { Length: > 0 })
        {
            payload.CopyTo(Driver.Memory.GetSpan(headerAddress + 0x1000, payload.Length));
            _transmit.Post(new TestBuffer(headerAddress, VsockHeader.Size), new TestBuffer(headerAddress + 0x1000, (uint)payload.Length));
        }
        else
        {
            _transmit.Post(new TestBuffer(headerAddress, VsockHeader.Size));
        }

        _transmit.Notify();
        Assert.NotNull(_transmit.WaitUsed(Wait));
    }

    /// <summary>Sends raw bytes as one packet (a hostile driver).</summary>
    public void SendRaw(byte[] packet)
    {
        packet.CopyTo(Driver.Memory.GetSpan(_transmit.DataArea, packet.Length));
        _transmit.Post(new TestBuffer(_transmit.DataArea, (uint)packet.Length));
        _transmit.Notify();
        Assert.NotNull(_transmit.WaitUsed(Wait));
    }

    /// <summary>The next packet the device delivered (its buffer goes back to the ring), or null after <paramref name="timeout"/>.</summary>
    public GuestPacket? Receive(TimeSpan? timeout = null)
    {
        if (_receive.WaitUsed(timeout ?? Wait) is not var (head, length))
        {
            return null;
        }

        Assert.True(length >= VsockHeader.Size, $"a used receive buffer of {length} bytes");
        var bytes = Driver.Memory.GetSpan(_receive.DataArea + head * (ulong)ReceiveBufferBytes, (int)length).ToArray();
        var header = VsockHeader.Read(bytes);
        Assert.Equal(header.Length, length - VsockHeader.Size);
        Assert.Equal((VirtioVsock.HostCid, Cid, VsockHeader.TypeStream), (header.SourceCid, header.DestinationCid, header.Type));
        PostReceiveBuffers(1);
        return new GuestPacket(header, bytes[VsockHeader.Size..]);
    }

    /// <summary>Skips credit updates to the next packet of another kind.</summary>
    public GuestPacket ReceiveNot(VsockOp skipped = VsockOp.CreditUpdate)
    {
        while (Receive() is { } packet)
        {
            if (packet.Header.Op != skipped)
            {
                return packet;
            }
        }

        throw new TimeoutException("no packet arrived");
    }

    /// <summary>A host program's connection through the VM's socket, after `CONNECT port`, the guest accepting it.</summary>
    public (Socket Host, uint HostPort) ConnectFromHost(uint guestPort)
    {
        var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(SocketPath));
        host.Send(System.Text.Encoding.ASCII.GetBytes($"CONNECT {guestPort}\n"));
        var request = ReceiveNot();
        Assert.Equal((VsockOp.Request, guestPort), (request.Header.Op, request.Header.DestinationPort));
        Send(Header(guestPort, request.Header.SourcePort, VsockOp.Response));
        Assert.Equal($"OK {request.Header.SourcePort}\n", ReadLine(host));
        return (host, request.Header.SourcePort);
    }

    /// <summary>
    /// The next connection to <paramref name="listener"/>, or a TimeoutException after <paramref name="bound"/>: a blocking
    /// Accept ignores ReceiveTimeout (measured), so a guest that never connects would hang the test run.
    /// </summary>
    public static Socket Accept(Socket listener, TimeSpan bound)
    {
        var accepting = listener.AcceptAsync();
        return accepting.Wait(bound) ? accepting.Result : throw new TimeoutException($"No connection to {listener.LocalEndPoint} within {bound}.");
    }

    /// <summary>One line, or what came before the end of the stream (a close with unread data arrives as a reset).</summary>
    public static string ReadLine(Socket socket)
    {
        var line = new List<byte>();
        var one = new byte[1];
        socket.ReceiveTimeout = (int)Wait.TotalMilliseconds;
        while (true)
        {
            var read = socket.Receive(one, SocketFlags.None, out var error);
            if (error == SocketError.ConnectionReset || (error == SocketError.Success && read == 0))
            {
                break;
            }

            Assert.Equal(SocketError.Success, error);
            line.Add(one[0]);
            if (one[0] == '\n')
            {
                break;
            }
        }

        return System.Text.Encoding.ASCII.GetString(line.ToArray());
    }

    public void Dispose()
    {
        Device.Dispose();
        Driver.Dispose();
        Directory.Delete(recursive: true);
    }
}
