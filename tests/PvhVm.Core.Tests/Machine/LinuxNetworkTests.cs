using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Net;
using PvhVm.Core.Tests.Devices.Virtio.Vsock;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// Linux's own virtio_net and vsock drivers on PvhVm's devices, in one boot of the test kernel (tests/kernel/init.c,
/// pvhtest.net=1 pvhtest.vsock=1): /init brings eth0 up with a static address and exchanges UDP with a socket of the
/// test's inside the network namespace the tap is moved to (which the test then deletes under the running VM);
/// connects over vsock to a host listener on
/// <c>&lt;VsockPath&gt;_5001</c>; then echoes two host connections made through the device's Unix socket (a line, and
/// 64 KiB that take several credit updates both ways).
/// </summary>
[Collection(TestKernelCollection.Name)]
public sealed class LinuxNetworkTests(TestKernelFixture kernel, ITestOutputHelper output) : IDisposable
{
    /// <summary>tests/kernel/init.c: NET_UDP_PORT, NET_UDP_TEXT, VSOCK_HOST_PORT, VSOCK_HELLO, VSOCK_ECHO_PORT.</summary>
    private const int UdpPort = 7001;
    private const string UdpText = "pvhtest udp from linux";
    private const int VsockHostPort = 5001;
    private const string VsockHello = "hello from linux\n";
    private const int VsockEchoPort = 5000;
    private const int LargeEchoBytes = 64 * 1024;

    private readonly TapNamespace _network = new();
    private readonly DirectoryInfo _sockets = Directory.CreateTempSubdirectory("pvhvm-linux-vsock-");

    public void Dispose()
    {
        _network.Dispose();
        _sockets.Delete(recursive: true);
    }

    [Fact]
    public void LinuxReachesTheHostOverUdpAndVsockAndEchoesHostConnections()
    {
        var socketPath = Path.Combine(_sockets.FullName, "vsock");
        var reply = $"pvhtest udp from the host {Guid.NewGuid():N}";
        using var vsockListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        vsockListener.Bind(new UnixDomainSocketEndPoint($"{socketPath}_{VsockHostPort}"));
        vsockListener.Listen(1);
        string? udpFromGuest = null, vsockFromGuest = null, shortEcho = null;
        byte[]? largeEcho = null;
        var large = RandomNumberGenerator.GetBytes(LargeEchoBytes);

        var (vm, report) = TestKernelBoot.BootToExit(kernel, TestKernelFixture.CommandLine("poweroff") + " pvhtest.net=1 pvhtest.vsock=1", cpus: 1, output,
            config => config with
            {
                NetworkAdapters = [new NetworkAdapterConfig(_network.TapName)],
                VsockCid = 53,
                VsockPath = socketPath,
            },
            vm =>
            {
                // The VM made its tap in this process's namespace; the test moves it into its own while Linux boots.
                Eventually.True(() => TapNamespace.LinkExists(_network.TapName), TestKernelBoot.BootBound, "the VM's tap");
                _network.TakeTap();
                using (var udp = _network.OpenUdpSocket(UdpPort))
                {
                    udp.ReceiveTimeout = (int)TestKernelBoot.BootBound.TotalMilliseconds;
                    var datagram = new byte[1500];
                    EndPoint guest = new IPEndPoint(IPAddress.Any, 0);
                    udpFromGuest = Encoding.ASCII.GetString(datagram, 0, udp.ReceiveFrom(datagram, ref guest));
                    output.WriteLine($"udp from {guest}: {udpFromGuest}");
                    udp.SendTo(Encoding.ASCII.GetBytes(reply), guest);
                }

                // A tap deleted under the running VM: the adapter says so, and the VM goes on (vsock, power-off).
                Assert.NotNull(vm.Console.WaitFor(new Regex("^pvhtest: udp_reply="), TestKernelBoot.BootBound));
                _network.InNamespace("link", "del", _network.TapName);
                Eventually.True(() => vm.GetNetworkAdapters()[0].TapLost, TimeSpan.FromSeconds(30), "TapLost");

                using (var fromGuest = VsockTestGuest.Accept(vsockListener, TestKernelBoot.BootBound))
                {
                    vsockFromGuest = VsockTestGuest.ReadLine(fromGuest);
                }

                Assert.NotNull(vm.Console.WaitFor(new Regex($"^pvhtest: vsock_listening={VsockEchoPort}$"), TestKernelBoot.BootBound));
                shortEcho = Encoding.ASCII.GetString(Echo(socketPath, "ping\n"u8.ToArray()));
                largeEcho = Echo(socketPath, large);
            });
        using (vm)
        {
            output.WriteLine(string.Join('\n', vm.Console.Snapshot().Select(l => l.Text)
                .Where(l => l.Contains("virtio") || l.Contains("eth0") || l.Contains("vsock") || l.StartsWith("pvhtest", StringComparison.Ordinal))));
            Assert.Equal(VmExitReason.PowerOff, vm.ExitReason);
            Assert.Equal("10.213.0.2/24 up", report["eth0"]);
            Assert.Equal(UdpText, udpFromGuest);
            Assert.Equal(reply, report["udp_reply"]);
            Assert.Equal("53", report["vsock_cid"]);
            Assert.Equal("ok", report["vsock_connect"]);
            Assert.Equal(VsockHello, vsockFromGuest);
            Assert.Equal("ping\n", shortEcho);
            Assert.Equal(large, largeEcho);
            Assert.Equal(LargeEchoBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), report["vsock_echoed"]);

            var adapter = Assert.Single(vm.GetNetworkAdapters());
            output.WriteLine($"adapter {adapter}");
            Assert.True(adapter.PacketsIn >= 2 && adapter.PacketsOut >= 2, $"{adapter}");   // ARP and UDP each way
            Assert.True(adapter.TapLost);
        }
    }

    /// <summary>One host connection through the device's socket to the guest's echo: send all, shut down, read to the end.</summary>
    private static byte[] Echo(string socketPath, byte[] data)
    {
        using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(socketPath));
        host.Send(Encoding.ASCII.GetBytes($"CONNECT {VsockEchoPort}\n"));
        Assert.StartsWith("OK ", VsockTestGuest.ReadLine(host));
        host.ReceiveTimeout = (int)TimeSpan.FromMinutes(2).TotalMilliseconds;

        // Sent from another thread: the guest echoes while it reads, so neither side may wait for the other to finish.
        var sender = Task.Run(() =>
        {
            host.Send(data);
            host.Shutdown(SocketShutdown.Send);
        });
        var received = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = host.Receive(chunk)) > 0)
        {
            received.Write(chunk, 0, read);
        }

        sender.GetAwaiter().GetResult();
        return received.ToArray();
    }
}
