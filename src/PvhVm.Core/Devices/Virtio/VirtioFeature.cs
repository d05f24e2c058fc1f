namespace PvhVm.Core.Devices.Virtio;

/// <summary>Feature bits the transport itself understands (VIRTIO 1.2, section 6); device bits live with each device.</summary>
internal static class VirtioFeature
{
    /// <summary>Descriptors may point to a table of descriptors (section 2.7.5.3).</summary>
    public const ulong RingIndirectDesc = 1UL << 28;

    /// <summary>used_event/avail_event: each side says when it next wants to hear from the other (section 2.7.7, 2.7.10).</summary>
    public const ulong RingEventIdx = 1UL << 29;

    /// <summary>virtio 1.x: the only mode offered; a driver that does not accept it is refused at FEATURES_OK.</summary>
    public const ulong Version1 = 1UL << 32;

    /// <summary>What the transport offers for every device: it handles these itself.</summary>
    public const ulong Transport = RingIndirectDesc | RingEventIdx | Version1;
}
