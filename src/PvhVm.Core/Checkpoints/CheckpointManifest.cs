using System.Text.Json.Serialization;
using PvhVm.Core.Boot;
using PvhVm.Core.Kernel;

namespace PvhVm.Core.Checkpoints;

/// <summary>
/// manifest.json: what a checkpoint holds and how to check it. Written last, so a folder without one is not a
/// checkpoint; read first, as untrusted input (<see cref="Checkpoint.Read"/> checks every value).
/// </summary>
internal sealed record CheckpointManifest
{
    public const string FormatName = "pvhvm-checkpoint";
    public const int CurrentVersion = 2;

    public string? Format { get; init; }

    public int Version { get; init; }

    public string? VmName { get; init; }

    public DateTimeOffset Created { get; init; }

    public string? KernelPath { get; init; }

    public string? InitrdPath { get; init; }

    public string? CommandLine { get; init; }

    public int MemoryMB { get; init; }

    public int ProcessorCount { get; init; }

    /// <summary>What the kernel declared, so a restored VM shows it without the kernel file.</summary>
    public KernelFormat KernelFormat { get; init; }

    public KernelCompression KernelCompression { get; init; }

    public string? KernelMachine { get; init; }

    public ulong KernelEntryPoint { get; init; }

    public uint? PvhEntryPoint { get; init; }

    public string? LinuxVersion { get; init; }

    /// <summary>Bytes of guest RAM, the exact length of memory.bin.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Bytes of guest RAM that were not all zeros (written as data; the rest are holes).</summary>
    public long MemoryDataBytes { get; init; }

    public long StateBytes { get; init; }

    /// <summary>
    /// XXH128 of state.bin, lowercase hex: a damaged byte is refused before the state is parsed and set into KVM. A
    /// checksum, not a signature (whoever can write the state can write this): the parser takes hostile state cleanly on
    /// its own. Not SHA-256: on Linux that loads OpenSSL, 3.7 MiB of every restored host process.
    /// </summary>
    public string? StateXxHash128 { get; init; }

    public string[]? Devices { get; init; }

    /// <summary>The guest layout the VM was booted with (Get-PvhMemoryMap's rows): shown by a restored VM, never used to build one.</summary>
    public LayoutRegion[]? MemoryMap { get; init; }

    /// <summary>The e820 map start_info handed the guest at boot.</summary>
    public E820Entry[]? E820Map { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CheckpointManifest))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
