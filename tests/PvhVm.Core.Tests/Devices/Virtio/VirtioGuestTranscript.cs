using System.Text;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// What the C virtio guest (tests/guests/virtio.c) prints and leaves behind when it drives a disk and an entropy source,
/// whoever's devices they are: QEMU's and PvhVm's runs are checked against this one transcript, which differs between
/// them only in where the devices are.
/// </summary>
internal static class VirtioGuestTranscript
{
    public const string Serial = "pvh-test-disk";

    /// <summary>A 1 MiB image starting with the line the guest prints from sector 0.</summary>
    public static void WriteImage(string path)
    {
        var disk = new byte[1 << 20];
        Encoding.ASCII.GetBytes("PVHVM TEST DISK SECTOR ZERO....!").CopyTo(disk, 0);
        File.WriteAllBytes(path, disk);
    }

    /// <summary>
    /// The guest's lines for devices found <paramref name="where"/> ("on the command line", "in the DSDT"), a disk at
    /// <paramref name="disk"/> and the entropy source at <paramref name="rng"/>, as "0x%08x irq %u".
    /// </summary>
    public static string[] Expected(string where, string disk, string rng) =>
    [
        $"virtio: 2 device(s) {where}",
        $"dev 0 at {disk}: id 2",
        "blk capacity=2048 sectors",
        "blk sector 0: PVHVM TEST DISK SECTOR ZERO....!",
        "blk wrote sector 8",
        "blk flush ok",
        "blk sector 8 reads back ok",
        $"blk serial={Serial}",
        $"dev 1 at {rng}: id 4",
        "rng 64 bytes, not all zero",
        "virtio done",
    ];

    /// <summary>
    /// What the guest prints with virtio.discard, after the serial line: the device's limits (QEMU's, which PvhVm
    /// offers too), the zeroing and the discard, then the status of three requests the device must refuse: a discard
    /// with the unmap flag and one of two segments (2, UNSUPP), a write-zeroes past the end (1, IOERR).
    /// </summary>
    public static readonly string[] DiscardLines =
    [
        "blk discard max=4194303 seg=1 align=1",
        "blk write zeroes max=4194303 seg=1 may unmap=1",
        "blk write zeroes ok, with and without unmap",
        "blk discard ok",
        "blk discard with the unmap flag: status 2",
        "blk discard of two segments: status 2",
        "blk write zeroes past the end: status 1",
    ];

    /// <summary><see cref="Expected"/> with <see cref="DiscardLines"/> after the serial line.</summary>
    public static string[] ExpectedWithDiscard(string where, string disk, string rng)
    {
        var lines = Expected(where, disk, rng).ToList();
        lines.InsertRange(lines.IndexOf($"blk serial={Serial}") + 1, DiscardLines);
        return [.. lines];
    }

    /// <summary>After virtio.discard: sectors 256-383 (written, then zeroed) and 512-639 (written, then discarded) read as zeroes.</summary>
    public static void AssertGuestZeroedAndDiscarded(string path)
    {
        var image = File.ReadAllBytes(path);
        Assert.All(image.AsSpan(256 * 512, 128 * 512).ToArray(), b => Assert.Equal(0, b));
        Assert.All(image.AsSpan(512 * 512, 128 * 512).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(1 << 20, image.Length);
    }

    /// <summary>Sector 8 holds the guest's marker, then byte i = i.</summary>
    public static void AssertGuestWroteSector8(string path)
    {
        var sector8 = File.ReadAllBytes(path).AsSpan(8 * 512, 512);
        Assert.StartsWith("PVHVM VIRTIO GUEST WAS HERE (sector 8)", Encoding.ASCII.GetString(sector8));
        Assert.Equal(0x27, sector8[0x27]);
        Assert.Equal(0xff, sector8[0x1ff]);
    }
}
