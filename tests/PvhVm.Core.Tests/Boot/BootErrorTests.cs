using System.Diagnostics;
using PvhVm.Core.Boot;
using PvhVm.Core.Kernel;
using static PvhVm.Core.Tests.Boot.BootTestSupport;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

/// <summary>Every <see cref="BootErrorKind"/>, provoked through <see cref="PvhBootLoader.Load"/>.</summary>
public sealed class BootErrorTests
{
    private const uint Rx = TestKernel.Readable | TestKernel.Executable;

    [Fact]
    public void KernelWithoutPvhEntryIsNotPvhBootable()
        => AssertKind(BootErrorKind.NotPvhBootable, new TestKernel(entry: null).With(0x100_0000, new byte[16], 16, Rx));

    [Fact]
    public void SegmentBeyondRamIsOutsideRam()
        => AssertKind(BootErrorKind.SegmentOutsideRam, KernelWith(new LoadSegment(0x2000_0000, 0, 0, 0x10, 0x1000, Rx)));

    [Fact]
    public void FourGibMemSizeFromLowRamRunsIntoTheMmioHole()
        => AssertKind(BootErrorKind.SegmentInMmioHole, KernelWith(new LoadSegment(0x100_0000, 0, 0, 0x10, 0x1_0000_0000, Rx)));

    [Fact]
    public void FourGibMemSizeAboveFourGibIsOutsideRam()
        => AssertKind(BootErrorKind.SegmentOutsideRam, KernelWith(new LoadSegment(0x1_0000_0000, 0, 0, 0x10, 0x1_0000_0000, Rx)),
            ramSize: 4 * GiB + 512 * MiB);

    [Fact]
    public void SegmentWrappingTheAddressSpaceIsOutsideRam()
        => AssertKind(BootErrorKind.SegmentOutsideRam, KernelWith(new LoadSegment(0xFFFF_FFFF_FFFF_F000, 0, 0, 0x10, 0x2000, Rx)));

    [Theory]
    [InlineData(256 * MiB)]
    [InlineData(4 * GiB + 512 * MiB)]
    public void SegmentReachingIntoTheHoleIsInMmioHole(ulong ramSize)
        => AssertKind(BootErrorKind.SegmentInMmioHole, KernelWith(new LoadSegment(0xBFFF_0000, 0, 0, 0x10, 0x2_0000, Rx)), ramSize: ramSize);

    [Theory]
    [InlineData(0x6000ul)]
    [InlineData(0x7010ul)]
    [InlineData(0x2_0000ul)]
    [InlineData(0x400ul)]
    [InlineData(0xA_0000ul)]
    [InlineData(0xF_F000ul)]
    public void SegmentOverBootStructuresOverlapsBootData(ulong address)
        => AssertKind(BootErrorKind.SegmentOverlapsBootData, KernelWith(new LoadSegment(address, 0, 0, 0x10, 0x200, Rx)));

    [Fact]
    public void OverlappingSegmentsAreRejected()
        => AssertKind(BootErrorKind.SegmentsOverlap, new TestKernel(entry: 0x100_0000)
            .With(0x100_0000, new byte[0x100], 0x2000, Rx)
            .With(0x100_1000, new byte[0x100], 0x1000, TestKernel.Readable));

    [Fact]
    public void FileSizeAboveMemorySizeIsAnInvalidSegment()
        => AssertKind(BootErrorKind.InvalidSegment, KernelWith(new LoadSegment(0x100_0000, 0, 0, 0x2000, 0x1000, Rx)));

    [Fact]
    public void EntryOutsideEverySegmentIsRejected()
        => AssertKind(BootErrorKind.EntryOutsideSegments, new TestKernel(entry: 0x100_2000).With(0x100_0000, new byte[0x10], 0x2000, Rx));

    [Fact]
    public void GuestBelowOneMegabyteIsTooSmall()
        => AssertKind(BootErrorKind.MemoryTooSmall, TestKernel.Standard(), ramSize: 512 * 1024);

    [Theory]
    [InlineData("/nonexistent/pvhvm/initrd.img")]
    [InlineData("")]
    [InlineData("/etc/passwd\0/initrd")]
    public void MissingInitrdIsNotFound(string path)
        => AssertKind(BootErrorKind.InitrdNotFound, TestKernel.Standard(), Parameters(initrd: path));

    [Fact]
    public void DirectoryAsInitrdIsUnreadable()
    {
        using var directory = new TempFile();
        Directory.CreateDirectory(directory.Path);
        AssertKind(BootErrorKind.InitrdUnreadable, TestKernel.Standard(), Parameters(initrd: directory.Path));
    }

    [Fact]
    public void EmptyInitrdIsUnreadable()
    {
        using var empty = new TempFile([]);
        AssertKind(BootErrorKind.InitrdUnreadable, TestKernel.Standard(), Parameters(initrd: empty.Path));
    }

    [Fact]
    public void DeviceAsInitrdIsUnreadable()
        => AssertKind(BootErrorKind.InitrdUnreadable, TestKernel.Standard(), Parameters(initrd: "/dev/zero"));

    [Fact]
    public async Task FifoAsInitrdIsUnreadableWithoutBlocking()
    {
        using var fifo = new TempFile();
        using (var mkfifo = Process.Start("mkfifo", fifo.Path))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var load = Task.Run(() => AssertKind(BootErrorKind.InitrdUnreadable, TestKernel.Standard(), Parameters(initrd: fifo.Path)));
        // A blocking open would never return: bound the wait so the failure is a timeout, not a hung run.
        await load.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void InitrdLargerThanFreeLowRamIsTooLarge()
    {
        using var sparse = new TempFile([]);
        using (var stream = File.OpenWrite(sparse.Path))
        {
            stream.SetLength((long)(300 * MiB));
        }

        AssertKind(BootErrorKind.InitrdTooLarge, TestKernel.Standard(), Parameters(initrd: sparse.Path));
    }

    [Theory]
    [InlineData(null, 2048)]
    [InlineData(100, 101)]
    [InlineData(int.MaxValue, Layout.CommandLineCapacity)]
    public void CommandLineOverTheLimitIsTooLong(int? kernelLimit, int length)
    {
        var kernel = new TestKernel(entry: 0x100_0000) { CommandLineLimit = kernelLimit }.With(0x100_0000, new byte[16], 16, Rx);
        AssertKind(BootErrorKind.CommandLineTooLong, kernel, Parameters(new string('a', length)));

        using var memory = GuestMemory.Allocate(64 * MiB);
        PvhBootLoader.Load(memory, kernel, Parameters(new string('a', length - 1)));
    }

    [Fact]
    public void CommandLineWithNulIsInvalid()
        => AssertKind(BootErrorKind.InvalidCommandLine, TestKernel.Standard(), Parameters("console=ttyS0\0init=/bin/sh"));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(256)]
    public void ProcessorCountOutsideTheMadtRangeIsInvalid(int cpus)
        => AssertKind(BootErrorKind.InvalidProcessorCount, TestKernel.Standard(), Parameters(cpus: cpus));

    private static TestKernel KernelWith(LoadSegment segment) => new TestKernel(entry: (uint)Math.Min(segment.PhysicalAddress, uint.MaxValue)).With(segment);

    private static void AssertKind(BootErrorKind kind, TestKernel kernel, BootParameters? parameters = null, ulong ramSize = 256 * MiB)
    {
        using var memory = GuestMemory.Allocate(ramSize);
        var error = Assert.Throws<BootException>(() => PvhBootLoader.Load(memory, kernel, parameters ?? Parameters()));
        Assert.Equal(kind, error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
