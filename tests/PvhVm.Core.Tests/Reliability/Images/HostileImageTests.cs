using PvhVm.Core.Boot;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Reliability.Images;

/// <summary>
/// Kernel images and boot inputs that must not boot, on the real VM: each one fails with its own error kind before
/// any vCPU runs: in the constructor (the image reader) or in Start (the boot layout), never later.
/// </summary>
public sealed class HostileImageTests
{
    private const int MemoryMB = 64;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0x0UL, BootErrorKind.SegmentOverlapsBootData)]          // over the GDT, start_info and memory map
    [InlineData(0x2_0000UL, BootErrorKind.SegmentOverlapsBootData)]      // over the command line
    [InlineData(0xE_0000UL, BootErrorKind.SegmentOverlapsBootData)]      // over the ACPI tables
    [InlineData(0x800_0000UL, BootErrorKind.SegmentOutsideRam)]          // 128 MiB, past the 64 MiB of RAM
    [InlineData(0xD000_0000UL, BootErrorKind.SegmentInMmioHole)]
    [InlineData(0xBFFF_F000UL, BootErrorKind.SegmentInMmioHole)]         // starts in RAM's range, runs into the hole
    [InlineData(0x1_0000_0000UL, BootErrorKind.NotPvhBootable)]          // above 4 GiB: no 32-bit entry can reach it
    public void MisplacedSegmentFailsStartBeforeAnyVcpuRuns(ulong physical, BootErrorKind expected)
    {
        using var image = new HostileImage();
        ulong offset = image.CurrentEntry - image.LoadAddress(0);
        image.MoveLoad(0, physical).Entry(physical + offset);
        var error = StartFails<BootException>(image.Write());
        Assert.Equal(expected, error.Kind);
    }

    [Fact]
    public void OverlappingSegmentsAreRefusedByTheReader()
    {
        using var image = new HostileImage("smp");
        image.MoveLoad(1, image.LoadAddress(0) + 0x10);
        var error = Assert.Throws<KernelImageException>(() => new VirtualMachine(Config(image.Write())));
        Assert.Equal(KernelImageErrorKind.CorruptHeader, error.Kind);
        Assert.Contains("overlap", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x20_0000UL)]     // past the segment
    [InlineData(0x10_0000UL - 1)] // one byte before it
    [InlineData(0xFFFF_FFF0UL)]
    public void EntryOutsideEverySegmentIsNotBootable(ulong entry)
    {
        using var image = new HostileImage();
        image.Entry(entry);
        var error = Assert.Throws<BootException>(() => new VirtualMachine(Config(image.Write())));
        Assert.Equal(BootErrorKind.NotPvhBootable, error.Kind);
        Assert.Contains("outside", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentLargerThanRamFailsStart()
    {
        using var image = new HostileImage();
        image.MoveLoad(0, image.LoadAddress(0), memorySize: (ulong)(MemoryMB + 1) << 20);
        Assert.Equal(BootErrorKind.SegmentOutsideRam, StartFails<BootException>(image.Write()).Kind);
    }

    [Fact]
    public void InitrdLargerThanRamFailsStart()
    {
        var initrd = Path.Combine(Path.GetTempPath(), $"pvhvm-big-initrd-{Guid.NewGuid():N}");
        try
        {
            using (var file = File.Create(initrd))
            {
                file.SetLength((MemoryMB + 1L) << 20);   // sparse: no disk space used
            }

            var error = StartFails<BootException>(GuestImages.PathOf("probe"), initrd);
            Assert.Equal(BootErrorKind.InitrdTooLarge, error.Kind);
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    [Theory]
    [InlineData(2048)]      // one past the default 2047-byte limit
    [InlineData(1 << 20)]
    public void CommandLineOverTheLimitFailsStart(int length)
    {
        var error = StartFails<BootException>(GuestImages.PathOf("probe"), commandLine: new string('x', length));
        Assert.Equal(BootErrorKind.CommandLineTooLong, error.Kind);
    }

    [Fact]
    public void CommandLineWithNulFailsStart()
        => Assert.Equal(BootErrorKind.InvalidCommandLine, StartFails<BootException>(GuestImages.PathOf("probe"), commandLine: "console=ttyS0\0init=/evil").Kind);

    [Theory]
    [InlineData("directory")]
    [InlineData("fifo")]
    [InlineData("/dev/zero")]
    [InlineData("/dev/kvm")]
    public async Task KernelPathThatIsNotAFileIsRefusedWithoutBlocking(string what)
    {
        using var path = new SpecialPath(what);
        // WaitAsync throws TimeoutException should opening the path block.
        var error = await Assert.ThrowsAsync<KernelImageException>(() => Task.Run(() => new VirtualMachine(Config(path.Path))).WaitAsync(Bound));
        Assert.Equal(KernelImageErrorKind.NotAFile, error.Kind);
    }

    [Theory]
    [InlineData("directory")]
    [InlineData("fifo")]
    [InlineData("/dev/zero")]
    public async Task InitrdPathThatIsNotAFileIsRefusedAtCreationWithoutBlocking(string what)
    {
        using var path = new SpecialPath(what);
        var error = await Assert.ThrowsAsync<BootException>(() => Task.Run(() => new VirtualMachine(Config(GuestImages.PathOf("probe"), path.Path))).WaitAsync(Bound));
        Assert.Equal(BootErrorKind.InitrdUnreadable, error.Kind);
    }

    [Fact]
    public void MissingKernelAndInitrdAreNotFound()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"pvhvm-missing-{Guid.NewGuid():N}");
        Assert.Equal(KernelImageErrorKind.NotFound, Assert.Throws<KernelImageException>(() => new VirtualMachine(Config(missing))).Kind);
        Assert.Equal(BootErrorKind.InitrdNotFound, Assert.Throws<BootException>(() => new VirtualMachine(Config(GuestImages.PathOf("probe"), missing))).Kind);
    }

    private static VmConfig Config(string kernel, string? initrd = null, string commandLine = "console=ttyS0")
        => new("hostile", kernel, initrd, commandLine, MemoryMB);

    /// <summary>Creates the VM, expects Start to throw <typeparamref name="T"/>, and checks that no vCPU ever ran.</summary>
    private static T StartFails<T>(string kernel, string? initrd = null, string commandLine = "console=ttyS0") where T : Exception
    {
        VirtualMachine vm;
        try
        {
            vm = new VirtualMachine(Config(kernel, initrd, commandLine));
        }
        catch (T early)
        {
            return early;   // refused even sooner, by the image reader
        }

        using (vm)
        {
            var error = Assert.Throws<T>(vm.Start);
            Assert.Equal(VmState.Failed, vm.State);
            Assert.Null(vm.StartTime);             // set only once the vCPUs are about to run
            Assert.Equal(0, vm.Console.BytesReceived);
            Assert.True(vm.WaitForExit(TimeSpan.Zero));
            return error;
        }
    }

    /// <summary>A directory, a FIFO (no writer: opening it for reading would block), or a device path.</summary>
    private sealed class SpecialPath : IDisposable
    {
        private readonly string? _created;

        public SpecialPath(string what)
        {
            if (what.StartsWith('/'))
            {
                Path = what;
                return;
            }

            Path = _created = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pvhvm-{what}-{Guid.NewGuid():N}");
            if (what == "directory")
            {
                Directory.CreateDirectory(Path);
            }
            else
            {
                Assert.Equal(0, Mkfifo(Path, Convert.ToInt32("600", 8)));
            }
        }

        public string Path { get; }

        public void Dispose()
        {
            if (_created is null)
            {
                return;
            }

            if (Directory.Exists(_created))
            {
                Directory.Delete(_created);
            }
            else
            {
                File.Delete(_created);
            }
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
        private static extern int Mkfifo(string path, int mode);
    }
}
