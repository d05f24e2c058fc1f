using System.IO.Hashing;
using System.Text.Json;
using PvhVm.Core.Boot;
using PvhVm.Core.Interop;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Checkpoints;

/// <summary>
/// A checkpoint folder: manifest.json, state.bin (vCPUs, irqchip, devices) and memory.bin (guest RAM, holes for zero
/// pages). <see cref="Read"/> checks the manifest and the files' sizes; a restore also checks the state's hash and
/// every field of it. Anything else is a <see cref="CheckpointException"/> naming what is wrong.
/// </summary>
public sealed class Checkpoint
{
    internal const string ManifestFile = "manifest.json";
    internal const string StateFile = "state.bin";
    internal const string MemoryFile = "memory.bin";
    private const int MaxManifestBytes = 1 << 20;
    private const int MaxDevices = 64;
    private const int MaxMapEntries = 256;

    private readonly CheckpointManifest _manifest;

    private Checkpoint(string path, CheckpointManifest manifest, long sizeOnDisk)
    {
        Path = path;
        _manifest = manifest;
        SizeOnDisk = sizeOnDisk;
    }

    /// <summary>The checkpoint folder (full path).</summary>
    public string Path { get; }

    /// <summary>The name of the VM it was taken from.</summary>
    public string VmName => _manifest.VmName!;

    public DateTimeOffset Created => _manifest.Created;

    /// <summary>Guest RAM in bytes.</summary>
    public long MemoryBytes => _manifest.MemoryBytes;

    /// <summary>Guest RAM that held data (the rest is holes in memory.bin).</summary>
    public long MemoryDataBytes => _manifest.MemoryDataBytes;

    /// <summary>What the folder's files take on disk: memory.bin's holes take nothing.</summary>
    public long SizeOnDisk { get; }

    public int ProcessorCount => _manifest.ProcessorCount;

    public string KernelPath => _manifest.KernelPath!;

    public string CommandLine => _manifest.CommandLine ?? "";

    public int Version => _manifest.Version;

    /// <summary>The devices whose state it holds.</summary>
    public IReadOnlyList<string> Devices => _manifest.Devices!;

    /// <summary>Whether the checkpointed VM had a virtio-vsock device: a VM restored from it needs a vsock CID of its own.</summary>
    public bool HasVsock => Devices.Any(device => device.StartsWith(VsockDeviceName + " ", StringComparison.Ordinal));

    /// <summary>How <see cref="Devices"/> names the vsock device.</summary>
    internal const string VsockDeviceName = "virtio-vsock";

    internal string MemoryFilePath => System.IO.Path.Combine(Path, MemoryFile);

    /// <summary>The guest layout the checkpointed VM was booted with.</summary>
    internal IReadOnlyList<LayoutRegion> MemoryMap => _manifest.MemoryMap!;

    /// <summary>The e820 map the checkpointed VM's guest was given.</summary>
    internal IReadOnlyList<E820Entry> E820Map => _manifest.E820Map!;

    /// <summary>Reads and checks a checkpoint folder's manifest and file sizes.</summary>
    public static Checkpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = System.IO.Path.GetFullPath(path);
        var manifestPath = System.IO.Path.Combine(path, ManifestFile);
        if (!File.Exists(manifestPath))
        {
            throw new CheckpointException(CheckpointErrorKind.ManifestMissing, path, $"no {ManifestFile}: not a PvhVm checkpoint.");
        }

        var manifest = ParseManifest(ReadBounded(manifestPath, MaxManifestBytes, CheckpointErrorKind.ManifestInvalid, path), path);
        var memoryPath = System.IO.Path.Combine(path, MemoryFile);
        var memoryLength = File.Exists(memoryPath) ? new FileInfo(memoryPath).Length : -1;
        if (memoryLength != manifest.MemoryBytes)
        {
            throw new CheckpointException(CheckpointErrorKind.MemoryTruncated, path,
                memoryLength < 0 ? $"{MemoryFile} is missing." : $"{MemoryFile} has {memoryLength} bytes; the guest's RAM is {manifest.MemoryBytes}.");
        }

        var statePath = System.IO.Path.Combine(path, StateFile);
        var stateLength = File.Exists(statePath) ? new FileInfo(statePath).Length : -1;
        if (stateLength != manifest.StateBytes)
        {
            throw new CheckpointException(CheckpointErrorKind.StateCorrupt, path,
                stateLength < 0 ? $"{StateFile} is missing." : $"{StateFile} has {stateLength} bytes; the manifest says {manifest.StateBytes}.");
        }

        return new Checkpoint(path, manifest, new[] { manifestPath, memoryPath, statePath }.Sum(AllocatedBytes));
    }

    /// <summary>Reads state.bin, checks its hash against the manifest and parses it.</summary>
    internal MachineSnapshot ReadState()
    {
        var bytes = ReadBounded(System.IO.Path.Combine(Path, StateFile), SnapshotFormat.MaxStateBytes, CheckpointErrorKind.StateCorrupt, Path);
        if (bytes.Length != _manifest.StateBytes || StateHash(bytes) != _manifest.StateXxHash128)
        {
            throw new CheckpointException(CheckpointErrorKind.StateCorrupt, Path, $"{StateFile} does not match the hash in {ManifestFile}: it was changed or damaged.");
        }

        return SnapshotFormat.Read(bytes, ProcessorCount, Path);
    }

    /// <summary>The configuration a restore builds its VM from: the saved one under <paramref name="name"/>.</summary>
    internal VmConfig ConfigFor(string name) => new(name, KernelPath, _manifest.InitrdPath, CommandLine, _manifest.MemoryMB, ProcessorCount);

    /// <summary>What the kernel declared when the VM was made, as far as the manifest keeps it (no segments or notes).</summary>
    internal BootInfo BootInfo => new()
    {
        Path = KernelPath,
        Format = _manifest.KernelFormat,
        Compression = _manifest.KernelCompression,
        Machine = _manifest.KernelMachine ?? "",
        EntryPoint = _manifest.KernelEntryPoint,
        PvhEntryPoint = _manifest.PvhEntryPoint,
        LinuxVersion = _manifest.LinuxVersion,
        Segments = [],
        Notes = [],
    };

    /// <summary>
    /// Writes a checkpoint folder: memory first, then state, then the manifest, so a folder cut short by a failure has no
    /// manifest and reads as no checkpoint. The folder must not exist or be empty; on failure what was written is removed.
    /// </summary>
    internal static Checkpoint Write(string path, CheckpointManifest manifest, byte[] state, Func<string, long> writeMemory)
    {
        path = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
        {
            throw new CheckpointException(CheckpointErrorKind.FolderNotEmpty, path, "the folder is not empty; a checkpoint needs a new or empty folder.");
        }

        Directory.CreateDirectory(path);
        try
        {
            var dataBytes = writeMemory(System.IO.Path.Combine(path, MemoryFile));
            File.WriteAllBytes(System.IO.Path.Combine(path, StateFile), state);
            manifest = manifest with
            {
                Format = CheckpointManifest.FormatName,
                Version = CheckpointManifest.CurrentVersion,
                MemoryDataBytes = dataBytes,
                StateBytes = state.Length,
                StateXxHash128 = StateHash(state),
            };
            File.WriteAllBytes(System.IO.Path.Combine(path, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(manifest, CheckpointJsonContext.Default.CheckpointManifest));
        }
        catch
        {
            foreach (var file in new[] { ManifestFile, StateFile, MemoryFile })
            {
                File.Delete(System.IO.Path.Combine(path, file));
            }

            throw;
        }

        return Read(path);
    }

    private static CheckpointManifest ParseManifest(byte[] json, string path)
    {
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, CheckpointJsonContext.Default.CheckpointManifest);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(CheckpointErrorKind.ManifestInvalid, path, $"{ManifestFile} is not a valid manifest: {e.Message}", e);
        }

        if (manifest is null || manifest.Format != CheckpointManifest.FormatName)
        {
            throw new CheckpointException(CheckpointErrorKind.ManifestInvalid, path, $"{ManifestFile} is not a PvhVm checkpoint manifest (format '{manifest?.Format}').");
        }

        if (manifest.Version != CheckpointManifest.CurrentVersion)
        {
            throw new CheckpointException(CheckpointErrorKind.UnsupportedVersion, path,
                $"checkpoint format version {manifest.Version}; this PvhVm reads version {CheckpointManifest.CurrentVersion}.");
        }

        string? problem = manifest switch
        {
            { VmName: null or "" } => "no VM name",
            { KernelPath: null or "" } => "no kernel path",
            { MemoryMB: < VirtualMachine.MinimumMemoryMB } => $"memoryMB {manifest.MemoryMB} is below the minimum",
            _ when (ulong)manifest.MemoryMB << 20 > HostMemory.TotalBytes => $"memoryMB {manifest.MemoryMB} is more than this host's RAM",
            { ProcessorCount: < 1 or > Layout.MaxProcessors } => $"processorCount {manifest.ProcessorCount} is outside 1-{Layout.MaxProcessors}",
            _ when manifest.MemoryBytes != (long)manifest.MemoryMB << 20 => $"memoryBytes {manifest.MemoryBytes} is not memoryMB {manifest.MemoryMB} MiB",
            _ when manifest.MemoryDataBytes < 0 || manifest.MemoryDataBytes > manifest.MemoryBytes => $"memoryDataBytes {manifest.MemoryDataBytes} is out of range",
            { StateBytes: <= 0 or > SnapshotFormat.MaxStateBytes } => $"stateBytes {manifest.StateBytes} is out of range",
            _ when manifest.StateXxHash128 is not { Length: 32 } hash || !hash.All(char.IsAsciiHexDigitLower) => "stateXxHash128 is not an XXH128 in lowercase hex",
            _ when manifest.Devices is not { Length: <= MaxDevices } devices || devices.Any(d => d is null) => "the device list is missing or malformed",
            _ when manifest.MemoryMap is not { Length: <= MaxMapEntries } map
                || map.Any(r => r?.Description is null || !Enum.IsDefined(r.Type) || !Enum.IsDefined(r.Usage)) => "the memory map is missing or malformed",
            _ when manifest.E820Map is not { Length: <= MaxMapEntries } e820 || e820.Any(e => !Enum.IsDefined(e.Type)) => "the e820 map is missing or malformed",
            _ => null,
        };
        return problem is null ? manifest : throw new CheckpointException(CheckpointErrorKind.ManifestInvalid, path, $"{ManifestFile}: {problem}.");
    }

    private static byte[] ReadBounded(string file, int max, CheckpointErrorKind kind, string path)
    {
        using var stream = File.OpenRead(file);
        if (stream.Length > max)
        {
            throw new CheckpointException(kind, path, $"{System.IO.Path.GetFileName(file)} has {stream.Length} bytes; at most {max} are accepted.");
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The manifest's checksum of state.bin.</summary>
    internal static string StateHash(byte[] bytes) => Convert.ToHexString(XxHash128.Hash(bytes)).ToLowerInvariant();

    private static long AllocatedBytes(string file)
        => Libc.Statx(Libc.AT_FDCWD, file, 0, Libc.STATX_BLOCKS, out var statx) == 0 ? (long)statx.Blocks * 512 : 0;
}
