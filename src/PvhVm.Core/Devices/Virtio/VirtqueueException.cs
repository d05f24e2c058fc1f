namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// The driver broke the split-virtqueue protocol (a loop, a buffer outside RAM, a bad index or size). The transport
/// turns it into DEVICE_NEEDS_RESET; it never leaves the device.
/// </summary>
internal sealed class VirtqueueException : Exception
{
    public VirtqueueException(string message) : base(message) { }
}
