using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>Fills one chain the driver made available; returns the bytes written into its writable buffers.</summary>
internal delegate uint ChainFiller(DescriptorChain chain, GuestMemory memory);

/// <summary>What became of one <see cref="IVirtqueueFiller.TryFill"/>.</summary>
internal enum FillResult
{
    Filled,

    /// <summary>The driver has no buffer in the queue now; it notifies the queue when it adds one.</summary>
    NoBuffer,

    /// <summary>The device is not live (not DRIVER_OK, needs reset, queue not ready): nothing can be delivered.</summary>
    NotLive,
}

/// <summary>The transport's side of a device-driven queue: a device hands the guest data when it has some.</summary>
internal interface IVirtqueueFiller
{
    /// <summary>
    /// Takes the next chain of queue <paramref name="queueIndex"/>, lets <paramref name="fill"/> write into it, returns
    /// it used and interrupts as the driver asked. Runs under the transport's lock: the filler may take the device's
    /// own lock, but a device must never call this while holding its lock (the transport calls the device under its own).
    /// </summary>
    FillResult TryFill(int queueIndex, ChainFiller fill);
}

/// <summary>
/// A device some of whose queues it fills on its own time (a frame arrives on a tap, a socket has data) instead of
/// serving each chain as the driver notifies. For those queues a notification only says buffers were added.
/// </summary>
internal interface IDeviceDrivenQueues
{
    bool IsDeviceDriven(int queueIndex);

    /// <summary>The driver set DRIVER_OK: the device may deliver through <paramref name="filler"/> from any thread.</summary>
    void Activate(IVirtqueueFiller filler);

    /// <summary>The driver reset the device: deliveries stop and per-session state is dropped.</summary>
    void Deactivate();

    /// <summary>The driver notified device-driven queue <paramref name="queueIndex"/>: it added buffers. Called under the transport's lock.</summary>
    void BuffersAdded(int queueIndex);
}
