namespace PvhVm.Core.Devices.Virtio;

/// <summary>The device status field (VIRTIO 1.2, section 2.1); the driver sets the bits in this order.</summary>
[Flags]
internal enum DeviceStatus : uint
{
    Reset = 0,
    Acknowledge = 1,
    Driver = 2,
    DriverOk = 4,
    FeaturesOk = 8,

    /// <summary>Set by the device: the guest broke the protocol and only a reset brings the device back.</summary>
    DeviceNeedsReset = 64,
    Failed = 128,
}
