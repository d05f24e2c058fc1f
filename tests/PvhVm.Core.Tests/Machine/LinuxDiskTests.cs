using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// Linux's own drivers on PvhVm's devices: the test kernel's virtio_mmio finds the disk and the entropy source in the
/// DSDT, virtio_blk reads a marker the host wrote into the image and writes a page the host then reads from the file,
/// discards one range and zeroes out another (DISCARD, WRITE_ZEROES), and virtio_rng feeds /dev/hwrng. One boot, about
/// a minute on an emulating host.
/// </summary>
[Collection(TestKernelCollection.Name)]
public sealed class LinuxDiskTests(TestKernelFixture kernel, ITestOutputHelper output) : IDisposable
{
    /// <summary>Where /init writes (tests/kernel/init.c DISK_WRITE_OFFSET) and what.</summary>
    private const int WriteOffset = 1 << 20;
    private const string Written = "PVHTEST LINUX WROTE THIS PAGE\n";

    /// <summary>What /init discards (BLKDISCARD) and zeroes out (BLKZEROOUT): 64 KiB each (tests/kernel/init.c discard_and_zero_out).</summary>
    private const int DiscardOffset = 2 << 20;
    private const int ZeroOutOffset = 3 << 20;
    private const int DiscardLength = 64 << 10;

    private readonly string _image = Path.Combine(Path.GetTempPath(), $"pvhvm-linux-disk-{Guid.NewGuid():N}.img");

    public void Dispose() => File.Delete(_image);

    [Fact]
    public void InitReadsAndWritesTheDiskAndReadsHwrngThroughLinuxDrivers()
    {
        var marker = $"pvhvm-disk-marker-{Guid.NewGuid():N}";
        var image = new byte[4 << 20];
        Encoding.ASCII.GetBytes(marker + "\n").CopyTo(image, 0);
        // What /init discards and zeroes out: filled, so that zeroes afterwards are the guest's doing.
        image.AsSpan(DiscardOffset, DiscardLength).Fill(0xA5);
        image.AsSpan(ZeroOutOffset, DiscardLength).Fill(0x5A);
        File.WriteAllBytes(_image, image);

        var (vm, report) = TestKernelBoot.BootToExit(kernel, TestKernelFixture.CommandLine("poweroff") + " pvhtest.disk=1", cpus: 1, output,
            config => config with { Disks = [new DiskConfig(_image, Serial: "linux-disk-1")], EnableEntropy = true });
        using (vm)
        {
            var console = vm.Console.Snapshot();
            var log = string.Join('\n', console.Select(l => l.Text));
            output.WriteLine(string.Join('\n', console.Select(l => l.Text).Where(l => l.Contains("virtio") || l.Contains("vda") || l.StartsWith("pvhtest", StringComparison.Ordinal))));
            Assert.Equal(VmExitReason.PowerOff, vm.ExitReason);
            Assert.Equal(marker, report["disk_marker"]);
            Assert.Equal("ok", report["disk_write"]);
            Assert.Matches("^[0-9a-f]{64}$", report["hwrng"]);
            Assert.NotEqual(new string('0', 64), report["hwrng"]);
            Assert.Contains("virtio_blk virtio0: [vda] 8192 512-byte logical blocks (4.19 MB/4.00 MiB)", log);

            // The page reached the image file itself, whole, after the guest's fsync.
            var page = File.ReadAllBytes(_image).AsSpan(WriteOffset, 4096);
            Assert.Equal(Written, Encoding.ASCII.GetString(page[..Written.Length]));
            Assert.True(page[Written.Length..].IndexOfAnyExcept((byte)0) < 0, "the rest of the page is not zero");

            // BLKDISCARD reached the device as DISCARD: the range is a hole in the image now. BLKZEROOUT reached it as
            // WRITE_ZEROES, not as 64 KiB of written zeroes (Linux's fallback when a disk has no WRITE_ZEROES).
            Assert.Equal("ok", report["disk_discard"]);
            Assert.Equal("ok", report["disk_zeroout"]);
            var file = File.ReadAllBytes(_image);
            Assert.True(file.AsSpan(DiscardOffset, DiscardLength).IndexOfAnyExcept((byte)0) < 0, "the discarded range does not read as zeroes");
            Assert.True(file.AsSpan(ZeroOutOffset, DiscardLength).IndexOfAnyExcept((byte)0) < 0, "the zeroed-out range does not read as zeroes");
            Assert.True(Devices.Virtio.SparseFile.IsHole(_image, DiscardOffset, DiscardOffset + DiscardLength), "the discarded range is still allocated");

            var disk = Assert.Single(vm.GetDisks());
            Assert.Equal(0, disk.Errors);
            Assert.True(disk.BytesWritten >= 4096, $"{disk.BytesWritten} bytes written");
            Assert.True(disk.BytesWritten < DiscardLength, $"{disk.BytesWritten} bytes written: BLKZEROOUT wrote its zeroes");
            Assert.True(disk.BytesRead >= 512, $"{disk.BytesRead} bytes read");

            // For the record: how long virtio_blk took from its queue set-up to knowing the disk (emulated time).
            var probe = console.Select(l => Regex.Match(l.Text, @"^\[\s*([0-9.]+)\] virtio_blk virtio0: (1/0/0|\[vda\])")).Where(m => m.Success)
                .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            output.WriteLine($"disk: {disk.Requests} requests, {disk.BytesRead} bytes read, {disk.BytesWritten} written; "
                + $"virtio_blk queues to [vda]: {(probe.Count == 2 ? $"{probe[1] - probe[0]:F3} s" : "not seen")}");
        }
    }
}
