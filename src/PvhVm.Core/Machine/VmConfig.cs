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
}
