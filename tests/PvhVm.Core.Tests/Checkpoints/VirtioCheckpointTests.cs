using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Vsock;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// VMs with virtio devices checkpointed while the guest writes and restored: each clone continues into an image of its
/// own (its records, with its own entropy, land there, not in the other's, not in the base), a read-only disk is shared,
/// a writable disk without an image is refused, a vsock connection open at the checkpoint is reset and a new one works
/// with the clone's new CID, and the restored VM shows the original's memory map.
/// </summary>
public sealed partial class VirtioCheckpointTests(VirtioCheckpointFixture fixture, ITestOutputHelper output) : IClassFixture<VirtioCheckpointFixture>
{
    [Fact]
    public void TwoClonesWriteOnlyIntoTheirOwnImagesAndShareTheReadOnlyDisk()
    {
        var atCheckpoint = VirtioCheckpointFixture.RecordCount(fixture.WritableImage);
        // Suspended while writing: records before the checkpoint, thousands still to come.
        Assert.InRange(atCheckpoint, 201, VirtioCheckpointFixture.Records - 5000);
        var images = new[] { fixture.CopyOfWritableImage("first"), fixture.CopyOfWritableImage("second") };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var first = VirtualMachine.Restore(fixture.Folder, new CheckpointRestoreOptions { Name = "first", DiskPaths = [images[0]] });
        first.Start();
        output.WriteLine($"restore to running with 2 disks, rng and vsock: {clock.Elapsed.TotalMilliseconds:0.0} ms; state.bin {new FileInfo(Path.Combine(fixture.Folder, Checkpoint.StateFile)).Length} bytes");
        using var second = VirtualMachine.Restore(fixture.Folder, new CheckpointRestoreOptions { Name = "second", DiskPaths = [images[1]] });
        second.Start();
        var last = new[] { first, second }.Select(vm => WaitForRecord(vm, atCheckpoint + 100)).ToArray();
        first.Stop();
        second.Stop();
        var written = Math.Min(last[0], last[1]);
        output.WriteLine($"checkpoint at record {atCheckpoint}; the clones printed records up to {last[0]} and {last[1]}");

        for (var n = 0; n < atCheckpoint; n++)
        {
            var original = VirtioCheckpointFixture.RecordAt(fixture.WritableImage, n)!.Value;
            Assert.All(images, image => Assert.Equal(original.Random, VirtioCheckpointFixture.RecordAt(image, n)!.Value.Random));
        }

        for (var n = atCheckpoint; n <= written; n++)
        {
            // Not in the base: the checkpoint's image is never written by a clone.
            Assert.Null(VirtioCheckpointFixture.RecordAt(fixture.WritableImage, n));
            var (a, b) = (VirtioCheckpointFixture.RecordAt(images[0], n)!.Value, VirtioCheckpointFixture.RecordAt(images[1], n)!.Value);
            Assert.Equal((n, n), (a.N, b.N));
            // Each clone's own virtio-rng bytes: the records are its own, not the other's. The first record's entropy
            // may have been taken before the checkpoint (the guest asks for it before it writes), so both share it.
            if (n > atCheckpoint)
            {
                Assert.NotEqual(a.Random, b.Random);
            }

            // Both read the shared read-only disk.
            var expected = $"RO{n % VirtioCheckpointFixture.ReadOnlySectors:D6}";
            Assert.Equal((expected, expected), (a.ReadOnlyBytes, b.ReadOnlyBytes));
        }
    }

    [Fact]
    public void AWritableDiskWithoutAnImageIsRefusedAndAnImageOfAnotherSizeToo()
    {
        var error = Assert.Throws<CheckpointException>(() => VirtualMachine.Restore(fixture.Folder, "no-image"));
        Assert.Equal(CheckpointErrorKind.WritableDiskNeedsImage, error.Kind);
        Assert.Contains("vda", error.Message, StringComparison.Ordinal);

        var small = fixture.CopyOfWritableImage("small");
        File.Open(small, FileMode.Open).Using(f => f.SetLength(1 << 20));
        var mismatch = Assert.Throws<CheckpointException>(() => VirtualMachine.Restore(fixture.Folder, new CheckpointRestoreOptions { DiskPaths = [small] }));
        Assert.Equal(CheckpointErrorKind.DiskMismatch, mismatch.Kind);
    }

    [Fact]
    public void AnOpenVsockConnectionIsResetAndANewOneWorksWithTheClonesCid()
    {
        using var clone = VirtualMachine.Restore(fixture.Folder, new CheckpointRestoreOptions { Name = "vsock-clone", DiskPaths = [fixture.CopyOfWritableImage("vsock")] });
        Assert.NotEqual(fixture.OriginalCid, clone.VsockCid);
        clone.Start();
        var reset = clone.Console.WaitFor(VsockEvent(), VirtioCheckpointFixture.Bound);
        Assert.NotNull(reset);
        output.WriteLine($"original CID {fixture.OriginalCid}; the clone's guest saw: {reset.Text}");
        // Event 0 is VIRTIO_VSOCK_EVENT_TRANSPORT_RESET; the CID the guest read after it is the clone's.
        Assert.Equal($"vsock event 0, cid={clone.VsockCid}", reset.Text);

        using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(clone.VsockPath!));
        host.Send("CONNECT 5000\n"u8);
        Assert.StartsWith("OK ", VsockTestGuest.ReadLine(host));
        host.Send("after the restore\n"u8);
        Assert.Equal("after the restore\n", VsockTestGuest.ReadLine(host));
    }

    [Fact]
    public void ARestoredVmShowsTheOriginalsMemoryMapAndTheCheckpointListsItsDevices()
    {
        using var clone = VirtualMachine.Restore(fixture.Folder, new CheckpointRestoreOptions { Name = "map-clone", DiskPaths = [fixture.CopyOfWritableImage("map")] });
        clone.Start();
        Assert.NotEmpty(fixture.MemoryMap);
        Assert.Equal(fixture.MemoryMap, clone.MemoryMap);
        Assert.Equal(fixture.E820Map, clone.E820Map);
        var checkpoint = Checkpoint.Read(fixture.Folder);
        var devices = checkpoint.Devices;
        output.WriteLine(string.Join("\n", devices));
        Assert.True(checkpoint.HasVsock);
        Assert.Contains($"virtio-blk vda {fixture.WritableImage}", devices);
        Assert.Contains($"virtio-blk vdb {fixture.ReadOnlyImage} (read-only)", devices);
        Assert.Contains("virtio-rng", devices);
        Assert.Contains($"virtio-vsock cid {fixture.OriginalCid}", devices);
    }

    [Fact]
    public void ThreeThousandVirtioStateMutantsRaiseOnlyCheckpointException()
        => CheckpointReaderFuzzTests.FuzzState(CheckpointReaderFuzzTests.StateSeed(fixture.Folder), 3000, 20261130, output);

    [Fact]
    public void RehashedVirtioStateMutantsFailCleanlyOrRunAsAnyGuestWould()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"pvhvm-ckpt-virtio-copy-{Guid.NewGuid():N}");
        CheckpointFixture.CopyCheckpoint(fixture.Folder, copy);
        try
        {
            var image = fixture.CopyOfWritableImage("mutants");
            CheckpointReaderFuzzTests.RestoreRehashedMutants(CheckpointReaderFuzzTests.StateSeed(fixture.Folder), copy, 40,
                name => new CheckpointRestoreOptions { Name = name, DiskPaths = [image] }, output);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    /// <summary>Waits until the guest has printed record <paramref name="n"/> or a later one; returns the last it printed.</summary>
    private static int WaitForRecord(VirtualMachine vm, int n)
    {
        var deadline = DateTime.UtcNow + VirtioCheckpointFixture.Bound;
        while (true)
        {
            var last = vm.Console.Tail(1) is [var line] && Record().Match(line.Text) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
            if (last >= n)
            {
                return last;
            }

            Assert.True(DateTime.UtcNow < deadline && vm.State is VmState.Running, $"{vm.Name} printed record {last}, not {n} ({vm.State}, {vm.Fault?.Message})");
            Thread.Sleep(10);
        }
    }

    [GeneratedRegex("^ckpt blk ([0-9]+)$")]
    private static partial Regex Record();

    [GeneratedRegex("^vsock event ")]
    private static partial Regex VsockEvent();
}
