namespace PvhVm.Core.Machine;

/// <summary>
/// A disk of a VM as it is now: its configuration, the name Linux gives it, and what the guest has done with it since
/// the VM started (zeros before; the final counts once stopped).
/// </summary>
/// <param name="GuestName">vda, vdb, ...: the name Linux's virtio_blk gives it (disks are probed in this order).</param>
/// <param name="SizeBytes">The image's size: when the VM started, else now; null if the file cannot be read now.</param>
/// <param name="Errors">Requests not answered OK: host I/O failures, requests out of range or malformed, unsupported ones.</param>
public sealed record VmDisk(
    string VmName,
    string GuestName,
    string Path,
    bool ReadOnly,
    string Serial,
    ulong? SizeBytes,
    long Requests,
    long BytesRead,
    long BytesWritten,
    long Errors)
{
    /// <summary>The name Linux gives the disk at <paramref name="index"/>: vda ... vdz (a VM has at most 8 devices).</summary>
    public static string GuestNameAt(int index) => $"vd{(char)('a' + index)}";
}
