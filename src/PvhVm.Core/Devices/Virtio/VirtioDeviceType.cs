namespace PvhVm.Core.Devices.Virtio;

/// <summary>Device IDs (VIRTIO 1.2, section 5) of the devices PvhVm models.</summary>
internal enum VirtioDeviceType : uint
{
    Network = 1,
    Block = 2,
    Entropy = 4,
    Vsock = 19,
}
