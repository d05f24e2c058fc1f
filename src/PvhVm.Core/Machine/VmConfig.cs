namespace PvhVm.Core.Machine;

/// <summary>Everything a VM is built from.</summary>
public sealed record VmConfig(
    string Name,
    string KernelPath,
    string? InitrdPath = null,
    string CommandLine = "",
    int MemoryMB = VmConfig.DefaultMemoryMB,
    int ProcessorCount = 1)
{
    public const int DefaultMemoryMB = 256;

    /// <summary>The VM's disks, in guest order (vda first).</summary>
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];

    /// <summary>Whether the guest gets a virtio-rng device fed from the host's getrandom.</summary>
    public bool EnableEntropy { get; init; }

    /// <summary>The VM's network adapters, in guest order (eth0 first).</summary>
    public IReadOnlyList<NetworkAdapterConfig> NetworkAdapters { get; init; } = [];

    /// <summary>Whether the guest gets a virtio-vsock device; implied by <see cref="VsockCid"/> or <see cref="VsockPath"/>.</summary>
    public bool EnableVsock { get; init; }

    /// <summary>The guest's vsock CID (3 or more); null to allocate one unused by this process's other VMs.</summary>
    public uint? VsockCid { get; init; }

    /// <summary>The host's Unix socket for the guest's vsock; null for one in a private (0700) directory of the VM's own.</summary>
    public string? VsockPath { get; init; }

    /// <summary>
    /// Whether virtio queue notifications go through KVM ioeventfds to a device I/O thread and interrupts through irqfds,
    /// where the host's KVM has both (the default). False serves every request on the vCPU thread that notified and
    /// raises interrupts with KVM_IRQ_LINE, as on hosts without them: the benchmark measures both ways.
    /// </summary>
    public bool UseVirtioEventFds { get; init; } = true;

    /// <summary>Whether there is a vsock device at all.</summary>
    public bool HasVsock => EnableVsock || VsockCid is not null || VsockPath is not null;

    /// <summary>How many virtio-mmio slots the configuration takes.</summary>
    public int VirtioDeviceCount => Disks.Count + (EnableEntropy ? 1 : 0) + NetworkAdapters.Count + (HasVsock ? 1 : 0);
}
