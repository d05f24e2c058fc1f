using PvhVm.Core.Devices.Virtio;

namespace PvhVm.Core.Checkpoints;

/// <summary>
/// One virtio device of a paused VM: its transport (status, features, queues) and what it was built from: its
/// configuration space as the driver read it (capacity, MAC, CID, ...), the host object it stood for (a disk's image
/// path, a network adapter's tap, the vsock socket path; empty for the entropy source) and a disk's read-only flag and serial.
/// </summary>
internal sealed record VirtioDeviceSnapshot(
    VirtioDeviceType Type,
    VirtioTransportState Transport,
    byte[] Config,
    string HostPath,
    bool ReadOnly,
    string Serial)
{
    /// <summary>How many queues each device type has: a saved transport must have exactly these.</summary>
    public static int QueueCountOf(VirtioDeviceType type) => type switch
    {
        VirtioDeviceType.Network => 2,
        VirtioDeviceType.Vsock => 3,
        _ => 1,
    };

    /// <summary>The order a VM's devices take their slots in (disks, entropy, network adapters, vsock): a restore rebuilds the same slots.</summary>
    public static int SlotRank(VirtioDeviceType type) => type switch
    {
        VirtioDeviceType.Block => 0,
        VirtioDeviceType.Entropy => 1,
        VirtioDeviceType.Network => 2,
        _ => 3,
    };
}
