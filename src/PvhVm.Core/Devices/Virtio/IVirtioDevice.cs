using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A virtio device behind a <see cref="VirtioMmioTransport"/>: its identity, features, configuration space and what it
/// does with one request. The transport owns status, feature negotiation, the queues and interrupts; the device only
/// ever sees checked descriptor chains.
/// </summary>
internal interface IVirtioDevice
{
    VirtioDeviceType DeviceType { get; }

    /// <summary>The device-specific feature bits offered; the transport adds <see cref="VirtioFeature.Transport"/>.</summary>
    ulong Features { get; }

    /// <summary>The largest size of each of the device's queues (a power of two); their number is the queue count.</summary>
    IReadOnlyList<ushort> QueueMaxSizes { get; }

    /// <summary>Reads the configuration space; bytes beyond it read as zero.</summary>
    void ReadConfig(uint offset, Span<byte> data);

    /// <summary>
    /// Serves one request from queue <paramref name="queueIndex"/> and returns how many bytes it wrote into the chain's
    /// writable buffers (the used element's length). May throw only <see cref="GuestMemoryException"/> or
    /// <see cref="VirtqueueException"/>, which the transport turns into DEVICE_NEEDS_RESET; host failures are the
    /// device's to report to the guest.
    /// </summary>
    uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory);
}
