namespace PvhVm.Core.Devices.Virtio;

/// <summary>Feature bits the transport itself understands (VIRTIO 1.2, section 6); device bits live with each device.</summary>
public static class VirtioFeature
{
    /// <summary>Descriptors may point to a table of descriptors (section 2.7.5.3).</summary>
    public const ulong RingIndirectDesc = 1UL << 28;

    /// <summary>virtio 1.x: the only mode offered; a driver that does not accept it is refused at FEATURES_OK.</summary>
    public const ulong Version1 = 1UL << 32;
}
