namespace PvhVm.Control;

/// <summary>
/// The kernel's OOM killer ended a host process before it was ready: the memory limit it was launched under
/// (New-PvhVm -MemoryLimitMB) leaves too little for the host program and the guest pages it touches while it starts.
/// </summary>
public sealed class HostOutOfMemoryException(string message) : IOException(message);
