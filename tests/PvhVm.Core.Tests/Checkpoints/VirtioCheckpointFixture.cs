using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Devices.Virtio.Vsock;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// One checkpoint of the C virtio guest in its checkpoint mode (tests/guests/virtio.c, virtio.ckpt): a writable disk it
/// fills with records, a read-only disk it reads, virtio-rng, and vsock with a host connection open at the checkpoint.
/// Suspended while the guest writes (a record per few requests), checkpointed, stopped. The base images are kept as the
/// checkpoint left them; tests copy them.
/// </summary>
public sealed class VirtioCheckpointFixture : IDisposable
{
    public const int Records = 60_000;
    public const int FirstRecordSector = 16;
    public const int ReadOnlySectors = 16;
    public const long DiskBytes = 64L << 20;
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("pvhvm-ckpt-virtio-");

    public VirtioCheckpointFixture()
    {
        WritableImage = Path.Combine(_directory.FullName, "base.img");
        ReadOnlyImage = Path.Combine(_directory.FullName, "ro.img");
        Folder = Path.Combine(_directory.FullName, "checkpoint");
        using (var image = File.Create(WritableImage))
        {
            image.SetLength(DiskBytes);
        }

        var readOnly = new byte[ReadOnlySectors * 512];
        for (var sector = 0; sector < ReadOnlySectors; sector++)
        {
            Encoding.ASCII.GetBytes($"RO{sector:D6}", readOnly.AsSpan(sector * 512));
        }

        File.WriteAllBytes(ReadOnlyImage, readOnly);
        using var vm = new VirtualMachine(new VmConfig("virtio-ckpt", GuestImages.PathOf("virtio"), CommandLine: $"virtio.ckpt={Records}", MemoryMB: 64)
        {
            Disks = [new DiskConfig(WritableImage), new DiskConfig(ReadOnlyImage, ReadOnly: true)],
            EnableEntropy = true,
            VsockPath = Path.Combine(_directory.FullName, "vsock"),
        });
        vm.Start();
        Assert.NotNull(vm.Console.WaitFor(new Regex("^vsock cid=[0-9]+, listening on port 5000$"), Bound));
        OriginalCid = vm.VsockCid!.Value;

        // A connection the guest has accepted and echoed on: open when the checkpoint is taken.
        _connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _connection.Connect(new UnixDomainSocketEndPoint(vm.VsockPath!));
        _connection.Send("CONNECT 5000\n"u8);
        Assert.StartsWith("OK ", VsockTestGuest.ReadLine(_connection));
        _connection.Send("before\n"u8);
        Assert.Equal("before\n", VsockTestGuest.ReadLine(_connection));

        Assert.NotNull(vm.Console.WaitFor(new Regex("^ckpt blk 200$"), Bound));
        vm.Suspend();
        Checkpoint = vm.CreateCheckpoint(Folder);
        MemoryMap = vm.MemoryMap;
        E820Map = vm.E820Map;
        vm.Stop();
    }

    private readonly Socket _connection;

    public string Folder { get; }

    public Checkpoint Checkpoint { get; }

    /// <summary>The writable disk's image as the checkpoint left it.</summary>
    public string WritableImage { get; }

    public string ReadOnlyImage { get; }

    public uint OriginalCid { get; }

    public IReadOnlyList<LayoutRegion> MemoryMap { get; }

    public IReadOnlyList<E820Entry> E820Map { get; }

    /// <summary>A copy of the writable disk's image as the checkpoint left it, for one restored VM.</summary>
    public string CopyOfWritableImage(string name)
    {
        var copy = Path.Combine(_directory.FullName, $"{name}-{Guid.NewGuid():N}.img");
        File.Copy(WritableImage, copy);
        return copy;
    }

    /// <summary>Record n as the guest wrote it into <paramref name="image"/>, or null where there is none.</summary>
    public static (int N, byte[] Random, string ReadOnlyBytes)? RecordAt(string image, int n)
    {
        using var file = File.OpenRead(image);
        var sector = new byte[512];
        file.Position = (FirstRecordSector + n) * 512L;
        file.ReadExactly(sector);
        return sector.AsSpan(0, 4).SequenceEqual("CKPT"u8)
            ? (BitConverter.ToInt32(sector, 4), sector[8..24], Encoding.ASCII.GetString(sector, 24, 8))
            : null;
    }

    /// <summary>How many records <paramref name="image"/> holds from record 0 on, without a gap.</summary>
    public static int RecordCount(string image)
    {
        var n = 0;
        while (n < Records && RecordAt(image, n) is not null)
        {
            n++;
        }

        return n;
    }

    public void Dispose()
    {
        _connection.Dispose();
        _directory.Delete(recursive: true);
    }
}
