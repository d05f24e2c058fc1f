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
}
