namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// A device part with host threads of its own that read or write guest memory (the I/O thread, a tap reader, the vsock
/// muxer): a paused VM parks them, so nothing moves guest RAM or a queue while its state is read.
/// </summary>
internal interface IParkableThreads
{
    /// <summary>Returns once the threads have finished what they were doing (a request taken is served and returned used) and wait.</summary>
    void Park();

    /// <summary>Lets the threads go on; what arrived meanwhile (notifications, frames, socket data) is served then.</summary>
    void Unpark();
}
