namespace PvhVm.Core.Kernel;

/// <summary>One PT_LOAD program header: copy FileSize bytes to PhysicalAddress, zero up to MemorySize.</summary>
public readonly record struct LoadSegment(
    ulong PhysicalAddress,
    ulong VirtualAddress,
    ulong FileOffset,
    ulong FileSize,
    ulong MemorySize,
    uint Flags)
{
    public ulong PhysicalEnd => PhysicalAddress + MemorySize;
}
