using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Net;
using PvhVm.Core.Tests.Devices.Virtio.Vsock;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// The C virtio guest under PvhVm's virtio-net and virtio-vsock, wired as a user gets them (VmConfig): the same net
/// lines as under QEMU's virtio-net (<see cref="VirtioGuestUnderQemuTests"/>), the host kernel answering on a tap the
/// test moves into its own namespace; and over vsock, the guest reaching a host listener and echoing a host connection.
/// </summary>
public sealed class NetworkGuestUnderPvhVmTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TapNamespace _network = new();
    private readonly DirectoryInfo _sockets = Directory.CreateTempSubdirectory("pvhvm-vsock-guest-");

    public void Dispose()
    {
        _network.Dispose();
        _sockets.Delete(recursive: true);
    }

    [Fact]
    public void TheGuestPingsTheHostOverItsTapAndTalksOverVsock()
    {
        var socketPath = Path.Combine(_sockets.FullName, "vsock");
        using var hostListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        hostListener.Bind(new UnixDomainSocketEndPoint($"{socketPath}_5001"));
        hostListener.Listen(1);
        using var vm = new VirtualMachine(new VmConfig("net-guest", GuestImages.PathOf("virtio"), MemoryMB: 64)
        {
            NetworkAdapters = [new NetworkAdapterConfig(_network.TapName, "02:00:00:00:00:02")],
            VsockCid = 77,
            VsockPath = socketPath,
        });
        var clock = Stopwatch.StartNew();
        vm.Start();

        // The VM made the tap in this process's namespace; the test moves it into its own (the guest asks again meanwhile).
        WaitFor(() => TapNamespace.LinkExists(_network.TapName));
        _network.TakeTap();
        var tapMac = _network.TapMac();

        using (var fromGuest = VsockTestGuest.Accept(hostListener, Bound))
        {
            Assert.Equal("hello from the guest\n", VsockTestGuest.ReadLine(fromGuest));
        }

        Assert.NotNull(vm.Console.WaitFor(new System.Text.RegularExpressions.Regex("^vsock listening on port 5000$"), Bound, CancellationToken.None));
        using (var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            host.Connect(new UnixDomainSocketEndPoint(socketPath));
            host.Send("CONNECT 5000\n"u8);
            Assert.StartsWith("OK ", VsockTestGuest.ReadLine(host));
            host.Send("ping\n"u8);
            Assert.Equal("ping\n", VsockTestGuest.ReadLine(host));
            host.Shutdown(SocketShutdown.Send);
            Assert.Equal(string.Empty, VsockTestGuest.ReadLine(host));
        }

        Assert.True(vm.WaitForExit(Bound), "the virtio guest did not reset");
        output.WriteLine($"guest run {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        Assert.Equal(
            [
                "virtio: 2 device(s) in the DSDT",
                "dev 0 at 0xc0000000 irq 5: id 1",
                "net mac=02:00:00:00:00:02",
                $"net arp reply from 10.213.0.1 at {tapMac}",
                "net icmp echo reply, 256 bytes back",
                "dev 1 at 0xc0001000 irq 6: id 19",
                "vsock cid=77",
                "vsock connected to host port 5001, sent hello",
                "vsock listening on port 5000",
                "vsock echoed 5 bytes on port 5000",
                "virtio done",
            ],
            vm.Console.Snapshot().Select(line => line.Text));

        var adapter = Assert.Single(vm.GetNetworkAdapters());
        output.WriteLine($"adapter {adapter}");
        Assert.True(adapter.PacketsOut >= 2 && adapter.PacketsIn >= 2, $"{adapter}");
        Assert.False(adapter.TapLost);

        // The VM made the tap, so it went with the VM, from the namespace it had been moved to.
        Assert.Throws<InvalidOperationException>(() => _network.InNamespace("link", "show", _network.TapName));
    }

    /// <summary>The guest's benchmark modes (bench/Bench-Net.ps1 runs them under PvhVm and QEMU): datagrams both ways, all counted.</summary>
    [Fact]
    public void TheGuestsBenchModesSendDatagramsToTheHostAndCountTheHostsDatagrams()
    {
        const int Datagrams = 300;
        using var vm = new VirtualMachine(new VmConfig("net-bench-guest", GuestImages.PathOf("virtio"), CommandLine: $"virtio.net_tx={Datagrams} virtio.net_size=100 virtio.net_rx", MemoryMB: 64)
        {
            NetworkAdapters = [new NetworkAdapterConfig(_network.TapName, "02:00:00:00:00:02")],
        });
        vm.Start();
        WaitFor(() => TapNamespace.LinkExists(_network.TapName));
        _network.TakeTap();
        // The guest answers no ARP: the namespace knows its address for good.
        _network.InNamespace("neigh", "replace", TapNamespace.GuestAddress, "lladdr", "02:00:00:00:00:02", "dev", _network.TapName, "nud", "permanent");
        Assert.NotNull(vm.Console.WaitFor(new System.Text.RegularExpressions.Regex("^net icmp echo reply"), Bound, CancellationToken.None));
        var taken = _network.TapRxPackets();

        // The go datagram to port 11 (again until the guest sends), then the guest's datagrams reach the tap.
        var sent = new System.Text.RegularExpressions.Regex($"^net sent {Datagrams} frames$");
        for (var attempt = 0; attempt < 50 && vm.Console.WaitFor(sent, TimeSpan.FromMilliseconds(200), CancellationToken.None) is null; attempt++)
        {
            _network.SendDatagrams(11, 1);
        }

        Assert.NotNull(vm.Console.WaitFor(sent, Bound, CancellationToken.None));
        Assert.True(_network.TapRxPackets() - taken >= Datagrams, $"the tap took {_network.TapRxPackets() - taken} frames");

        // Host to guest: 20 datagrams to port 9, then the end (port 10); one at a time, so none is lost on the way.
        _network.SendDatagrams(9, 20);
        _network.SendDatagrams(10, 1);
        Assert.NotNull(vm.Console.WaitFor(new System.Text.RegularExpressions.Regex("^net received 20 frames 2840 bytes$"), Bound, CancellationToken.None));
        Assert.True(vm.WaitForExit(Bound), "the virtio guest did not reset");
        Assert.Equal("virtio done", vm.Console.Snapshot()[^1].Text);
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Bound, "condition not reached in time");
            Thread.Sleep(10);
        }
    }
}
