namespace PvhVm.Core.Devices.Virtio;

/// <summary>Register offsets of a version-2 virtio-mmio device (VIRTIO 1.2, section 4.2.2); all 32 bits wide.</summary>
internal static class VirtioMmioRegister
{
    public const uint MagicValue = 0x000;
    public const uint Version = 0x004;
    public const uint DeviceId = 0x008;
    public const uint VendorId = 0x00C;
    public const uint DeviceFeatures = 0x010;
    public const uint DeviceFeaturesSel = 0x014;
    public const uint DriverFeatures = 0x020;
    public const uint DriverFeaturesSel = 0x024;
    public const uint QueueSel = 0x030;
    public const uint QueueNumMax = 0x034;
    public const uint QueueNum = 0x038;
    public const uint QueueReady = 0x044;
    public const uint QueueNotify = 0x050;
    public const uint InterruptStatus = 0x060;
    public const uint InterruptAck = 0x064;
    public const uint Status = 0x070;
    public const uint QueueDescLow = 0x080;
    public const uint QueueDescHigh = 0x084;
    public const uint QueueDriverLow = 0x090;
    public const uint QueueDriverHigh = 0x094;
    public const uint QueueDeviceLow = 0x0A0;
    public const uint QueueDeviceHigh = 0x0A4;
    public const uint ShmSel = 0x0AC;
    public const uint ShmLenLow = 0x0B0;
    public const uint ShmLenHigh = 0x0B4;
    public const uint ConfigGeneration = 0x0FC;

    /// <summary>Device-specific configuration starts here.</summary>
    public const uint Config = 0x100;

    /// <summary>"virt" in little-endian.</summary>
    public const uint Magic = 0x7472_6976;

    /// <summary>The virtio 1.x (non-legacy) register layout.</summary>
    public const uint ModernVersion = 2;

    /// <summary>"PVHV" in little-endian; the spec leaves the vendor to the device.</summary>
    public const uint PvhVmVendor = 0x5648_5650;

    public const uint InterruptUsedBuffer = 0x1;
    public const uint InterruptConfigChange = 0x2;
}
