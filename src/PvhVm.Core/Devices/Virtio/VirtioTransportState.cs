namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A virtio-mmio transport's registers as a checkpoint holds them: status, the feature selects and what the driver
/// acked, the queue select, the interrupt status, the configuration generation and every queue. Read from an untrusted
/// file: <see cref="VirtioMmioTransport.Restore"/> checks it against the device before taking it.
/// </summary>
internal sealed record VirtioTransportState(
    uint Status,
    uint DeviceFeaturesSelect,
    uint DriverFeaturesSelect,
    ulong DriverFeatures,
    uint QueueSelect,
    uint InterruptStatus,
    uint ConfigGeneration,
    VirtqueueState[] Queues);

/// <summary>
/// One split virtqueue as the device sees it: its size and readiness, the three areas' guest addresses and the
/// device's positions (last available index taken, next used index). Event-index state needs nothing more: the
/// driver's used_event and the device's avail_event live in the rings, in guest RAM.
/// </summary>
internal readonly record struct VirtqueueState(
    ushort Size,
    bool Ready,
    ulong DescriptorTable,
    ulong AvailableRing,
    ulong UsedRing,
    ushort NextAvailable,
    ushort NextUsed);
