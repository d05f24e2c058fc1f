using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Net;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// A VM with a network adapter paused, checkpointed and restored onto a tap: while paused the tap is not read (a frame
/// sent then reaches the guest after the resume, not before); the restored VM, on a tap of its own with a new MAC,
/// still passes frames. The C virtio guest (virtio.ckpt) prints each UDP datagram to its port 9 with the MAC its
/// device's configuration holds at that moment.
/// </summary>
public sealed class NetworkCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private const string OriginalMac = "02:00:00:00:00:02";

    private readonly TapNamespace _original = new();
    private readonly TapNamespace _restored = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"pvhvm-ckpt-net-{Guid.NewGuid():N}");

    public void Dispose()
    {
        _original.Dispose();
        _restored.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void APausedVmReadsNoFrameAndARestoredOneOnItsOwnTapStillPassesFrames()
    {
        using var vm = new VirtualMachine(new VmConfig("net-ckpt", GuestImages.PathOf("virtio"), CommandLine: "virtio.ckpt", MemoryMB: 64)
        {
            NetworkAdapters = [new NetworkAdapterConfig(_original.TapName, OriginalMac)],
        });
        vm.Start();
        Assert.NotNull(vm.Console.WaitFor(new Regex("^ckpt ready$"), Bound));
        using var toOriginal = Attach(_original, OriginalMac);
        Send(toOriginal, "before");
        WaitForLine(vm, $"ckpt net udp before mac={OriginalMac}");

        var pausing = Stopwatch.StartNew();
        vm.Suspend();
        output.WriteLine($"Suspend with a tap reader and the I/O thread to park: {pausing.Elapsed.TotalMilliseconds:0.0} ms");
        var deliveredBefore = vm.GetNetworkAdapters()[0].PacketsIn;
        Send(toOriginal, "paused");
        // The frame waits in the tap: in a second of pause the device hands the guest nothing (a receive thread still
        // reading would have written it into guest RAM, paused vCPUs or not).
        Thread.Sleep(1000);
        Assert.Equal(deliveredBefore, vm.GetNetworkAdapters()[0].PacketsIn);
        vm.Resume();
        WaitForLine(vm, $"ckpt net udp paused mac={OriginalMac}");

        vm.Suspend();
        var checkpoint = vm.CreateCheckpoint(_folder);
        vm.Stop();
        Assert.Contains($"virtio-net eth0 tap {_original.TapName} {OriginalMac}", checkpoint.Devices);

        using var clone = VirtualMachine.Restore(_folder, new CheckpointRestoreOptions { Name = "net-clone", TapNames = [_restored.TapName] });
        var cloneMac = clone.GetNetworkAdapters()[0].MacAddress;
        Assert.NotEqual(OriginalMac, cloneMac);
        output.WriteLine($"the clone's adapter: tap {_restored.TapName}, MAC {cloneMac}");
        var clock = Stopwatch.StartNew();
        clone.Start();
        using var toClone = Attach(_restored, cloneMac);
        Send(toClone, "after");
        // The guest reads its MAC from the device's configuration as each datagram arrives: the clone's new one.
        WaitForLine(clone, $"ckpt net udp after mac={cloneMac}");
        output.WriteLine($"restored to a datagram through the new tap: {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>Once the VM has made the tap: moves it into the namespace, pins the guest's address to <paramref name="mac"/> (the guest answers no ARP) and opens a UDP socket there.</summary>
    private static Socket Attach(TapNamespace network, string mac)
    {
        var deadline = Stopwatch.StartNew();
        while (!TapNamespace.LinkExists(network.TapName))
        {
            Assert.True(deadline.Elapsed < Bound, $"tap {network.TapName} was not made");
            Thread.Sleep(10);
        }

        network.TakeTap();
        network.InNamespace("neigh", "replace", TapNamespace.GuestAddress, "lladdr", mac, "dev", network.TapName, "nud", "permanent");
        return network.OpenUdpSocket(9);
    }

    private static void Send(Socket socket, string text) =>
        socket.SendTo(Encoding.ASCII.GetBytes(text), new IPEndPoint(IPAddress.Parse(TapNamespace.GuestAddress), 9));

    private static void WaitForLine(VirtualMachine vm, string text) =>
        Assert.True(vm.Console.WaitFor(new Regex($"^{Regex.Escape(text)}$"), Bound) is not null, $"{vm.Name} did not print '{text}'");
}
