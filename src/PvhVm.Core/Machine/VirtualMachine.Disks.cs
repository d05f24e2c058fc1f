using PvhVm.Core.Devices.Virtio.Block;

namespace PvhVm.Core.Machine;

/// <summary>The VM's disks: attached before it starts, their images locked while it runs.</summary>
public sealed partial class VirtualMachine
{
    /// <summary>The disks, in guest order, with what the guest has done with them since the VM started.</summary>
    public IReadOnlyList<VmDisk> GetDisks()
    {
        var attached = _devices?.Disks;
        return Config.Disks.Select((disk, index) =>
        {
            var block = attached?[index];
            return new VmDisk(Name, VmDisk.GuestNameAt(index), disk.Path, disk.ReadOnly, disk.Serial,
                block?.Image.SizeBytes ?? SizeNow(disk.Path), block?.Requests ?? 0, block?.BytesRead ?? 0,
                block?.BytesWritten ?? 0, block?.Errors ?? 0);
        }).ToList();

        static ulong? SizeNow(string path) => File.Exists(path) ? (ulong)new FileInfo(path).Length : null;
    }

    /// <summary>
    /// Adds a disk after the others (the next guest name) to a VM that has not started; checks that the image can be
    /// opened as asked (<see cref="DiskImageException"/>) but locks it only while the VM runs.
    /// </summary>
    public VmDisk AddDisk(DiskConfig disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        lock (_gate)
        {
            ThrowUnlessCreated("add a disk to");
            Publish(WithDisk(_config, disk));
        }

        return GetDisks()[^1];
    }

    /// <summary>
    /// Removes the disk with this guest name (vda, ...) from a VM that has not started; the disks after it move up one
    /// name. False if there is no such disk.
    /// </summary>
    public bool RemoveDisk(string guestName)
    {
        lock (_gate)
        {
            ThrowUnlessCreated("remove a disk from");
            var disks = _config.Disks.ToList();
            var index = Enumerable.Range(0, disks.Count).FirstOrDefault(i => VmDisk.GuestNameAt(i) == guestName, -1);
            if (index < 0)
            {
                return false;
            }

            disks.RemoveAt(index);
            Publish(_config with { Disks = disks });
            return true;
        }
    }

    /// <summary><paramref name="config"/> with <paramref name="disk"/> after its disks, once the disk is known to be usable.</summary>
    private static VmConfig WithDisk(VmConfig config, DiskConfig disk)
    {
        VirtioBlock.CheckSerial(disk.Serial);
        CheckDeviceSlot(config, $"'{disk.Path}'");

        var path = Path.GetFullPath(disk.Path);
        if (config.Disks.Any(other => other.Path == path))
        {
            throw new DiskImageException(DiskImageProblem.AlreadyAttached, path, $"is already a disk of VM '{config.Name}'");
        }

        DiskImage.Check(path, disk.ReadOnly);
        return config with { Disks = [.. config.Disks, disk with { Path = path }] };
    }
}
