using System.Net.Sockets;
using PvhVm.Core.Boot;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Net;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Machine;

/// <summary>Network adapters and vsock as a VM gets them from its configuration: before start, while running, after.</summary>
public sealed class NetworkAndVsockWiringTests
{
    [Fact]
    public void Adapters_change_only_before_start_with_a_stable_derived_or_given_mac()
    {
        using var vm = new VirtualMachine(HaltConfig("adapters"));
        var first = vm.AddNetworkAdapter(new NetworkAdapterConfig("pvtwire0"));
        Assert.Equal(MacAddress.Derive($"{vm.Id}/pvtwire0").ToString(), first.MacAddress);
        Assert.Equal("02:00:00:00:00:07", vm.AddNetworkAdapter(new NetworkAdapterConfig("pvtwire1", "02-00-00-00-00-07")).MacAddress);
        Assert.Equal(TapProblem.AlreadyAttached, Assert.Throws<TapException>(() => vm.AddNetworkAdapter(new NetworkAdapterConfig("pvtwire0"))).Problem);
        Assert.Equal(TapProblem.InvalidName, Assert.Throws<TapException>(() => vm.AddNetworkAdapter(new NetworkAdapterConfig("a/b"))).Problem);
        Assert.Throws<ArgumentException>(() => vm.AddNetworkAdapter(new NetworkAdapterConfig("pvtwire2", "01:00:5e:00:00:01")));

        Assert.True(vm.RemoveNetworkAdapter("pvtwire0"));
        Assert.False(vm.RemoveNetworkAdapter("pvtwire0"));
        Assert.Equal(["pvtwire1"], vm.GetNetworkAdapters().Select(a => a.TapName));
        Assert.Equal(new VmNetworkAdapter("adapters", "pvtwire1", "02:00:00:00:00:07", 0, 0, 0, 0, 0, 0, false), vm.GetNetworkAdapters()[0]);
        Assert.Null(vm.VsockPath);
    }

    [Fact]
    public void A_vm_has_at_most_eight_virtio_devices_counting_adapters_and_vsock()
    {
        var adapters = Enumerable.Range(0, 8).Select(i => new NetworkAdapterConfig($"pvtmany{i}")).ToList();
        var error = Assert.Throws<BootException>(() => new VirtualMachine(HaltConfig("many") with { NetworkAdapters = adapters, EnableVsock = true }));
        Assert.Equal(BootErrorKind.TooManyDevices, error.Kind);
    }

    [Fact]
    public void Vsock_cids_are_allocated_distinct_a_taken_one_is_refused_and_a_disposed_vm_gives_its_back()
    {
        using var first = new VirtualMachine(HaltConfig("cid1") with { EnableVsock = true });
        using var second = new VirtualMachine(HaltConfig("cid2") with { EnableVsock = true });
        Assert.True(first.VsockCid >= 3 && second.VsockCid >= 3 && first.VsockCid != second.VsockCid);
        Assert.Throws<ArgumentException>(() => new VirtualMachine(HaltConfig("cid3") with { VsockCid = first.VsockCid }));
        Assert.Throws<ArgumentException>(() => new VirtualMachine(HaltConfig("cid4") with { VsockCid = 2 }));

        var given = new VirtualMachine(HaltConfig("cid5") with { VsockCid = 4_000_000 });
        given.Dispose();
        using var again = new VirtualMachine(HaltConfig("cid6") with { VsockCid = 4_000_000 });
        Assert.Equal(4_000_000u, again.VsockCid);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_running_vm_owns_its_tap_and_a_private_vsock_socket_and_removes_both_when_it_stops()
    {
        var tap = $"pvtrun{Random.Shared.Next(100_000):x}";
        var vm = new VirtualMachine(SleepConfig("running") with { NetworkAdapters = [new(tap)], EnableVsock = true });
        var socket = vm.VsockPath!;
        var directory = Path.GetDirectoryName(socket)!;
        try
        {
            vm.Start();
            Assert.True(TapNamespace.LinkExists(tap));
            Assert.True(File.Exists(socket));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));

            // The halting guest has no vsock driver: a host connection is ended at once rather than left waiting.
            using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            host.Connect(new UnixDomainSocketEndPoint(socket));
            host.Send("CONNECT 5000\n"u8);
            host.ReceiveTimeout = 10_000;
            Assert.Equal(0, host.Receive(new byte[16]));
        }
        finally
        {
            vm.Dispose();
        }

        Assert.False(TapNamespace.LinkExists(tap));
        Assert.False(Directory.Exists(directory));
    }

    private static VmConfig HaltConfig(string name) => new(name, GuestImages.PathOf("halt"), MemoryMB: 16);

    /// <summary>A guest that sleeps with interrupts on: it runs until stopped.</summary>
    private static VmConfig SleepConfig(string name) => new(name, GuestImages.PathOf("sleep"), MemoryMB: 16);
}
