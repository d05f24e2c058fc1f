namespace PvhVm.Core.Machine;

/// <summary>
/// A disk of a VM: a raw image file the guest sees as a virtio-blk device (vda, vdb, ... in the order of
/// <see cref="VmConfig.Disks"/>). A writable disk locks its image exclusively while the VM runs, a read-only one shares it.
/// </summary>
/// <param name="Serial">What the guest reads as the disk's serial (GET_ID): up to 20 printable ASCII characters, or empty.</param>
public sealed record DiskConfig(string Path, bool ReadOnly = false, string Serial = "");
