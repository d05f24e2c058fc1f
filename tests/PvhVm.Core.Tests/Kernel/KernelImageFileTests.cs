using PvhVm.Core.Kernel;
using static PvhVm.Core.Tests.Kernel.SyntheticImages;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Opening images from the file system: non-files rejected without blocking, segments copied with bounds checks.</summary>
public sealed class KernelImageFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pvhvm-kernel-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_missing_file_is_not_found()
    {
        var error = Assert.Throws<KernelImageException>(() => KernelImage.Open(Path.Combine(_directory, "missing")));
        Assert.Equal(KernelImageErrorKind.NotFound, error.Kind);
        Assert.Equal(Path.Combine(_directory, "missing"), error.Path);
    }

    [Fact]
    public void A_directory_is_not_a_file() => Assert.Equal(KernelImageErrorKind.NotAFile, OpenKind(_directory));

    [Fact]
    public void A_device_is_not_a_file() => Assert.Equal(KernelImageErrorKind.NotAFile, OpenKind("/dev/zero"));

    [Fact]
    public void A_socket_is_judged_by_its_type_before_any_open()
    {
        // open(2) of a socket always fails (ENXIO): only a check before the open can say what it is. The same check
        // keeps devices from being opened at all, since opening some has effects.
        string path = Path.Combine(_directory, "socket");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        var error = Assert.Throws<KernelImageException>(() => KernelImage.Open(path));
        Assert.Equal(KernelImageErrorKind.NotAFile, error.Kind);
        Assert.Contains("not a regular file", error.Message);
    }

    [Fact]
    public async Task A_fifo_is_rejected_without_blocking_on_open()
    {
        string fifo = Path.Combine(_directory, "fifo");
        DebianKernelFixture.Run("mkfifo", [fifo], TimeSpan.FromSeconds(10));
        var kind = await Task.Run(() => OpenKind(fifo)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(KernelImageErrorKind.NotAFile, kind);
    }

    [Fact]
    public void An_empty_file_is_not_a_kernel_image()
    {
        string empty = Path.Combine(_directory, "empty");
        File.WriteAllBytes(empty, []);
        Assert.Equal(KernelImageErrorKind.NotAKernelImage, OpenKind(empty));
    }

    [Fact]
    public void A_relative_path_opens_and_reports_its_full_path()
    {
        string file = Path.Combine(_directory, "probe.elf");
        File.WriteAllBytes(file, Elf(true, ("Xen", 18, NoteBytes.U32((uint)CodeAddress))));
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, file);
        Assert.Equal(file, KernelInspector.Inspect(relative).Path);
    }

    [Fact]
    public void Segments_copy_exactly_their_file_bytes()
    {
        var code = Enumerable.Range(0, 0x300).Select(i => (byte)i).ToArray();
        var builder = new ElfBuilder(true);
        builder.AddLoad(0x100000, code, memorySize: 0x1000).AddLoad(0x200000, [7, 7, 7]);
        string file = Path.Combine(_directory, "two-loads.elf");
        File.WriteAllBytes(file, builder.Build());

        using var image = KernelImage.Open(file);
        Assert.Equal(2, image.LoadSegments.Count);
        var first = image.LoadSegments[0];
        Assert.Equal(new LoadSegment(0x100000, 0xffffffff80100000, first.FileOffset, 0x300, 0x1000, 5), first);
        var destination = new byte[0x400];
        image.CopySegment(first, destination);
        Assert.Equal(code, destination[..0x300]);
        Assert.All(destination[0x300..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Copying_into_a_short_buffer_or_a_foreign_segment_is_refused()
    {
        string file = Path.Combine(_directory, "one-load.elf");
        File.WriteAllBytes(file, Elf(true));
        using var image = KernelImage.Open(file);
        var segment = image.LoadSegments.Single();
        Assert.Throws<ArgumentException>(() => image.CopySegment(segment, new byte[segment.FileSize - 1]));
        Assert.Throws<ArgumentException>(() => image.CopySegment(segment with { FileOffset = 0x10_0000 }, new byte[segment.FileSize]));
        image.Dispose();
        Assert.Throws<ObjectDisposedException>(() => image.CopySegment(segment, new byte[segment.FileSize]));
    }

    private static KernelImageErrorKind OpenKind(string path)
        => Assert.Throws<KernelImageException>(() => KernelImage.Open(path)).Kind;
}
