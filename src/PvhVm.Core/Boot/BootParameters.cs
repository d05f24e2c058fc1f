namespace PvhVm.Core.Boot;

/// <summary>What the loader needs besides the kernel: command line, optional initrd file, vCPU count, and the AML of the devices the DSDT describes.</summary>
internal sealed record BootParameters(string CommandLine, string? InitrdPath, int ProcessorCount, IReadOnlyList<byte[]> DsdtDevices);
