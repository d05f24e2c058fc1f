namespace PvhVm.Core.Host;

/// <summary>A resource of the host process that a VM needs and the host may run out of.</summary>
public enum HostResource
{
    /// <summary>A thread for a vCPU.</summary>
    Threads,

    /// <summary>File descriptors (/dev/kvm, the VM, its vCPUs, eventfds): the process or system limit was reached.</summary>
    FileDescriptors,

    /// <summary>Host memory or address space for guest RAM or a kernel structure.</summary>
    Memory,
}
