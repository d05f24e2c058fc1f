using System.Diagnostics;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// The C virtio guest under PvhVm's own devices, wired into a VM as a user gets them (VmConfig disks and entropy): the
/// same transcript as under QEMU's devices (<see cref="VirtioGuestUnderQemuTests"/>) but for the devices' addresses, and
/// the same bytes in the image afterwards.
/// </summary>
public sealed class VirtioGuestUnderPvhVmTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _image = Path.Combine(Path.GetTempPath(), $"pvhvm-virtio-guest-{Guid.NewGuid():N}.img");

    public void Dispose() => File.Delete(_image);

    [Fact]
    public void TheGuestDriverReadsWritesFlushesAndGetsEntropyFromPvhVmDevices()
    {
        VirtioGuestTranscript.WriteImage(_image);
        var clock = Stopwatch.StartNew();
        using var vm = RunGuest("");
        output.WriteLine($"guest run {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        // Found in the DSDT: the disk at the start of the MMIO hole on GSI 5, the entropy source in the next 4 KiB slot on GSI 6.
        Assert.Equal(VirtioGuestTranscript.Expected("in the DSDT", "0xc0000000 irq 5", "0xc0001000 irq 6"), vm.Console.Snapshot().Select(line => line.Text));
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);

        // Read 0, write 8, flush, read 8, GET_ID: five requests; two sectors read from the image, one written.
        var disk = Assert.Single(vm.GetDisks());
        Assert.Equal(new VmDisk("virtio", "vda", _image, false, VirtioGuestTranscript.Serial, 1UL << 20, 5, 1024, 512, 0), disk);
        Assert.Equal(0, vm.UnhandledMmioAccesses);

        // Stopped, the VM has let go of its image: it can be opened writable (locked) again.
        DiskImage.Open(_image, readOnly: false).Dispose();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AGuestWhoseChainLoopsGetsADeviceThatNeedsResetAndTheVmCarriesOn(bool useEventFds)
    {
        VirtioGuestTranscript.WriteImage(_image);
        using var vm = RunGuest("virtio.loop", useEventFds);

        // The looping chain ends as DEVICE_NEEDS_RESET, which the guest sees; after a reset the same device serves it.
        var expected = VirtioGuestTranscript.Expected("in the DSDT", "0xc0000000 irq 5", "0xc0001000 irq 6").ToList();
        expected.Insert(2, "blk looping chain: device needs reset");
        Assert.Equal(expected, vm.Console.Snapshot().Select(line => line.Text));
        Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        Assert.Null(vm.Fault);
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);
    }

    [Fact]
    public void TheGuestZeroesAndDiscardsAsUnderQemuAndTheImageGivesTheSpaceBack()
    {
        VirtioGuestTranscript.WriteImage(_image);
        using var vm = RunGuest("virtio.discard");

        Assert.Equal(VirtioGuestTranscript.ExpectedWithDiscard("in the DSDT", "0xc0000000 irq 5", "0xc0001000 irq 6"), vm.Console.Snapshot().Select(line => line.Text));
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);
        VirtioGuestTranscript.AssertGuestZeroedAndDiscarded(_image);
        // The discard, and the write-zeroes with the unmap flag, punched holes: a sparse image gets the space back.
        Assert.True(SparseFile.IsHole(_image, 512 * 512, 640 * 512), "the discarded sectors are still allocated");
        Assert.True(SparseFile.IsHole(_image, 320 * 512, 384 * 512), "the sectors zeroed with unmap are still allocated");
        Assert.Equal(3, vm.GetDisks()[0].Errors);
    }

    [Fact]
    public void WithEventFdsAQueueNotifyNoLongerExitsAndTheGuestSeesTheSameDevices()
    {
        const int reads = 400;
        var (exitsBySync, inUseBySync) = RunReads(reads, useEventFds: false);
        var (exitsByEventFd, inUseByEventFd) = RunReads(reads, useEventFds: true);
        output.WriteLine($"{reads} reads: {exitsBySync} exits served on the vCPU thread, {exitsByEventFd} through ioeventfd");

        Assert.False(inUseBySync);
        Assert.True(inUseByEventFd);
        // Every request's QueueNotify write is matched by KVM and signals the I/O thread instead of exiting: at least one
        // exit fewer per request (the driver's InterruptStatus read and InterruptAck write still exit).
        Assert.True(exitsBySync - exitsByEventFd >= reads, $"{exitsBySync} exits against {exitsByEventFd}");
    }

    private (long Exits, bool EventFdsInUse) RunReads(int reads, bool useEventFds)
    {
        VirtioGuestTranscript.WriteImage(_image);
        using var vm = RunGuest($"virtio.reads={reads}", useEventFds);
        var expected = VirtioGuestTranscript.Expected("in the DSDT", "0xc0000000 irq 5", "0xc0001000 irq 6").ToList();
        expected.Insert(8, $"blk {reads} reads ok");
        Assert.Equal(expected, vm.Console.Snapshot().Select(line => line.Text));
        Assert.Equal(5 + reads, vm.GetDisks()[0].Requests);
        return (vm.VcpuExits, vm.VirtioEventFdsInUse);
    }

    [Fact]
    public void TwoRunningVmsCannotShareAWritableImageButCanShareAReadOnlyOne()
    {
        VirtioGuestTranscript.WriteImage(_image);
        using var first = StartHalting(new DiskConfig(_image));
        using var second = new VirtualMachine(HaltConfig("second", new DiskConfig(_image)));
        var refused = Assert.Throws<DiskImageException>(second.Start);
        Assert.Equal(DiskImageProblem.Locked, refused.Problem);
        Assert.Equal(VmState.Failed, second.State);
        first.Stop();

        using var reader1 = StartHalting(new DiskConfig(_image, ReadOnly: true));
        using var reader2 = StartHalting(new DiskConfig(_image, ReadOnly: true));
        Assert.Equal(VmState.Running, reader2.State);
    }

    [Fact]
    public void DisksChangeOnlyBeforeStartAndNameThemselvesInOrder()
    {
        VirtioGuestTranscript.WriteImage(_image);
        var other = _image + ".b";
        File.WriteAllBytes(other, new byte[4096]);
        try
        {
            using var vm = new VirtualMachine(HaltConfig("disks"));
            vm.AddDisk(new DiskConfig(_image));
            Assert.Equal("vdb", vm.AddDisk(new DiskConfig(other, ReadOnly: true, Serial: "b")).GuestName);
            Assert.Equal(DiskImageProblem.AlreadyAttached, Assert.Throws<DiskImageException>(() => vm.AddDisk(new DiskConfig(_image, ReadOnly: true))).Problem);
            Assert.Equal(DiskImageProblem.NotFound, Assert.Throws<DiskImageException>(() => vm.AddDisk(new DiskConfig(_image + ".none"))).Problem);
            Assert.Throws<ArgumentException>(() => vm.AddDisk(new DiskConfig(other + "x", Serial: new string('s', 21))));
            Assert.True(vm.RemoveDisk("vda"));
            Assert.Equal([("vda", other, 4096UL)], vm.GetDisks().Select(d => (d.GuestName, d.Path, d.SizeBytes!.Value)));
            vm.Start();
            Assert.Throws<InvalidOperationException>(() => vm.AddDisk(new DiskConfig(_image)));
            Assert.Throws<InvalidOperationException>(() => vm.RemoveDisk("vda"));
            using var none = new VirtualMachine(HaltConfig("none"));
            Assert.False(none.RemoveDisk("vda"));
        }
        finally
        {
            File.Delete(other);
        }
    }

    /// <summary>The C guest with the image as its disk (serial set) and an entropy source, run to its reset.</summary>
    private VirtualMachine RunGuest(string commandLine, bool useEventFds = true)
    {
        var vm = new VirtualMachine(new VmConfig("virtio", GuestImages.PathOf("virtio"), CommandLine: commandLine, MemoryMB: 64)
        {
            Disks = [new DiskConfig(_image, Serial: VirtioGuestTranscript.Serial)],
            EnableEntropy = true,
            UseVirtioEventFds = useEventFds,
        });
        vm.Start();
        Assert.True(vm.WaitForExit(Bound), "the virtio guest did not reset");
        return vm;
    }

    private static VmConfig HaltConfig(string name, params DiskConfig[] disks)
        => new(name, GuestImages.PathOf("halt"), MemoryMB: 16) { Disks = disks };

    private static VirtualMachine StartHalting(DiskConfig disk)
    {
        var vm = new VirtualMachine(HaltConfig($"halt-{Guid.NewGuid():N}", disk));
        vm.Start();
        return vm;
    }
}
