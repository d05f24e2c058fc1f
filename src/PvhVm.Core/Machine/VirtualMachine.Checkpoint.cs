using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// Checkpoints of a paused VM and VMs restored from them. A restored VM maps the checkpoint's memory file
/// copy-on-write, so any number of VMs restored from one checkpoint share every page none of them wrote.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>The port devices every VM has, whose state a checkpoint holds.</summary>
    private static readonly string[] CheckpointDevices = ["COM1 (16550A UART)", "i8042", "ACPI power"];

    private readonly Checkpoint? _restoreFrom;
    // Read and checked by Restore, used once by Start, then let go (a fleet of clones keeps no copy of it).
    private MachineSnapshot? _restoreState;
    private byte[] _restoredConsoleLine = [];

    /// <summary>A VM to be started from <paramref name="checkpoint"/>: its saved configuration and devices under the identity <paramref name="options"/> give.</summary>
    private VirtualMachine(Checkpoint checkpoint, MachineSnapshot state, CheckpointRestoreOptions options, ILogger? logger)
    {
        _restoreFrom = checkpoint;
        _restoreState = state;
        _logger = logger ?? NullLogger.Instance;
        BootInfo = checkpoint.BootInfo;
        var name = string.IsNullOrWhiteSpace(options.Name) ? checkpoint.VmName : options.Name;
        _config = checkpoint.ConfigFor(name);
        _config = WithRestoredDevices(_config, state.VirtioDevices, options, checkpoint.Path);
        // Last: the CID is held from here until Dispose.
        var savedVsock = state.VirtioDevices.FirstOrDefault(d => d.Type == VirtioDeviceType.Vsock);
        _config = WithVsockResolved(_config, savedVsock is { Config.Length: >= sizeof(ulong) } ? (uint)BinaryPrimitives.ReadUInt64LittleEndian(savedVsock.Config) : null);
    }

    /// <summary>The checkpoint this VM was restored from; null for a VM that booted.</summary>
    public Checkpoint? RestoredFrom => _restoreFrom;

    /// <summary>
    /// A VM in state Created that <see cref="Start"/> resumes from the checkpoint at <paramref name="path"/> instead of
    /// booting, named <paramref name="name"/> (the checkpoint's VM name when null), with the default identity of
    /// <see cref="CheckpointRestoreOptions"/>. Throws <see cref="CheckpointException"/> for a folder that is not a
    /// readable checkpoint or a state that cannot be restored.
    /// </summary>
    public static VirtualMachine Restore(string path, string? name = null, ILogger? logger = null)
        => Restore(path, new CheckpointRestoreOptions { Name = name }, logger);

    /// <summary>
    /// A VM in state Created that <see cref="Start"/> resumes from the checkpoint at <paramref name="path"/>, with the
    /// name, disk images, taps, MACs and vsock CID of <paramref name="options"/>. The manifest and the whole state file
    /// are read and checked here (<see cref="CheckpointException"/>), the disk images checked (<see cref="Devices.Virtio.Block.DiskImageException"/>).
    /// </summary>
    public static VirtualMachine Restore(string path, CheckpointRestoreOptions options, ILogger? logger = null)
        => Restore(Checkpoint.Read(path), options, logger);

    /// <summary>
    /// As <see cref="Restore(string, CheckpointRestoreOptions, ILogger?)"/>, from a checkpoint whose manifest the caller
    /// has read already (<see cref="Checkpoint.Read"/>): its state file is read and checked here.
    /// </summary>
    public static VirtualMachine Restore(Checkpoint checkpoint, CheckpointRestoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(options);
        return new VirtualMachine(checkpoint, checkpoint.ReadState(), options, logger);
    }

    /// <summary>
    /// Saves the paused VM to the new or empty folder <paramref name="path"/>; it stays paused. Throws
    /// <see cref="InvalidOperationException"/> unless Paused, <see cref="CheckpointException"/> for a folder that is not empty.
    /// </summary>
    public Checkpoint CreateCheckpoint(string path)
    {
        lock (_pauseGate)
        {
            var vcpus = ActiveVcpus("checkpoint", VmState.Paused);
            var prepared = _prepared!;
            var devices = _devices!;
            var snapshot = new MachineSnapshot
            {
                ClockNanoseconds = _pausedClock,
                Irqchips = [.. MachineSnapshot.IrqchipIds.Select(prepared.Vm.GetIrqchip)],
                Vcpus = [.. vcpus.Vcpus.Select(vcpu => VcpuSnapshot.Capture(vcpu, SaveableMsrs.Value))],
                Serial = devices.Serial.Save(),
                I8042 = devices.I8042.Save(),
                ConsolePartialLine = Console.PartialLine(),
                VirtioDevices = devices.SaveVirtio(),
            };
            var manifest = new CheckpointManifest
            {
                VmName = Name,
                Created = DateTimeOffset.Now,
                KernelPath = Config.KernelPath,
                InitrdPath = Config.InitrdPath,
                CommandLine = Config.CommandLine,
                MemoryMB = Config.MemoryMB,
                ProcessorCount = Config.ProcessorCount,
                KernelFormat = BootInfo.Format,
                KernelCompression = BootInfo.Compression,
                KernelMachine = BootInfo.Machine,
                KernelEntryPoint = BootInfo.EntryPoint,
                PvhEntryPoint = BootInfo.PvhEntryPoint,
                LinuxVersion = BootInfo.LinuxVersion,
                MemoryBytes = (long)prepared.Memory.RamSize,
                Devices = [.. CheckpointDevices, .. VirtioDeviceNames(snapshot.VirtioDevices)],
                MemoryMap = [.. MemoryMap],
                E820Map = [.. E820Map],
            };
            var checkpoint = Checkpoints.Checkpoint.Write(path, manifest, SnapshotFormat.Write(snapshot), prepared.Memory.WriteSparseFile);
            _logger.LogDebug("VM {Name} checkpointed to {Path}: {Data} of {Ram} bytes of RAM held data", Name, checkpoint.Path, checkpoint.MemoryDataBytes, checkpoint.MemoryBytes);
            return checkpoint;
        }
    }

    /// <summary>Start's counterpart of <see cref="BuildAndLoad"/> for a restored VM: RAM from the file, then irqchip, devices, vCPUs and clock.</summary>
    private void BuildFromCheckpoint(Checkpoint checkpoint)
    {
        var snapshot = _restoreState ?? throw new ObjectDisposedException(Name);
        _restoreState = null;
        VcpuSet.CheckHost(Config.ProcessorCount);
        // A pooled VM, never run, with its RAM swapped for the checkpoint's: its memory slots are registered already.
        var prepared = _prepared = PreparedVmPool.Take((ulong)checkpoint.MemoryBytes);
        prepared.Memory.ReplaceWithPrivateFile(checkpoint.MemoryFilePath);
        var devices = _devices = new DeviceManager(prepared.Vm, prepared.Memory, Config, Console,
            () => EndVm(VmExitReason.GuestReset, null), () => EndVm(VmExitReason.PowerOff, null), _logger);
        try
        {
            foreach (var chip in snapshot.Irqchips)
            {
                prepared.Vm.SetIrqchip(chip);
            }

            devices.Serial.Restore(snapshot.Serial);
            devices.I8042.Restore(snapshot.I8042);
            _vcpus = VcpuSet.Restore(prepared.Vm, prepared.Memory, devices, snapshot.Vcpus, EndVm, OnLastVcpuOut, _logger);
            prepared.Vm.SetClock(snapshot.ClockNanoseconds);
            // After the irqchip and the vCPUs: an interrupt a device raises on the way (a clone's new MAC, the vsock reset) stays pending.
            devices.RestoreVirtio(snapshot.VirtioDevices, checkpoint.Path, _logger);
        }
        catch (KvmException e)
        {
            throw new CheckpointException(CheckpointErrorKind.StateRejected, checkpoint.Path, $"KVM refused the saved state: {e.Message}", e);
        }

        _restoredConsoleLine = snapshot.ConsolePartialLine;
        _memoryMap = checkpoint.MemoryMap;
        _e820Map = checkpoint.E820Map;
    }

    /// <summary>
    /// <paramref name="config"/> with the checkpointed VM's virtio devices in the same slots, under this VM's identity:
    /// the images, taps, MACs and vsock endpoint <paramref name="options"/> name, or the defaults it describes.
    /// </summary>
    private VmConfig WithRestoredDevices(VmConfig config, IReadOnlyList<VirtioDeviceSnapshot> devices, CheckpointRestoreOptions options, string path)
    {
        var disks = devices.Where(d => d.Type == VirtioDeviceType.Block).ToList();
        var adapters = devices.Where(d => d.Type == VirtioDeviceType.Network).ToList();
        CheckOptionCount(options.DiskPaths.Count, disks.Count, "disk paths", "disks");
        CheckOptionCount(options.TapNames.Count, adapters.Count, "tap names", "network adapters");
        CheckOptionCount(options.MacAddresses.Count, adapters.Count, "MAC addresses", "network adapters");
        var hasVsock = devices.Any(d => d.Type == VirtioDeviceType.Vsock);
        if (!hasVsock && (options.VsockCid is not null || options.VsockPath is not null))
        {
            throw new ArgumentException("A vsock CID or socket for a checkpoint without a vsock device.", nameof(options));
        }

        for (var i = 0; i < disks.Count; i++)
        {
            var saved = disks[i];
            var given = i < options.DiskPaths.Count ? options.DiskPaths[i] : null;
            if (given is null && !saved.ReadOnly)
            {
                throw new CheckpointException(CheckpointErrorKind.WritableDiskNeedsImage, path,
                    $"disk {VmDisk.GuestNameAt(i)} ('{saved.HostPath}') is writable, and two VMs must never write one image: give the restored VM an image of its own for it (a copy made at the checkpoint).");
            }

            var image = System.IO.Path.GetFullPath(given ?? saved.HostPath);
            var capacityBytes = saved.Config.Length >= sizeof(ulong) ? BinaryPrimitives.ReadUInt64LittleEndian(saved.Config) * DiskImage.SectorSize : 0;
            if (DiskImage.Check(image, saved.ReadOnly) / DiskImage.SectorSize * DiskImage.SectorSize != capacityBytes)
            {
                throw new CheckpointException(CheckpointErrorKind.DiskMismatch, path,
                    $"disk {VmDisk.GuestNameAt(i)}: '{image}' is not {capacityBytes} bytes, the size the guest knows the checkpointed disk by.");
            }

            config = WithDisk(config, new DiskConfig(image, saved.ReadOnly, saved.Serial));
        }

        config = config with { EnableEntropy = devices.Any(d => d.Type == VirtioDeviceType.Entropy) };
        for (var i = 0; i < adapters.Count; i++)
        {
            var tap = i < options.TapNames.Count ? options.TapNames[i] : null;
            var mac = i < options.MacAddresses.Count ? options.MacAddresses[i] : null;
            config = WithNetworkAdapter(config, new NetworkAdapterConfig(tap ?? adapters[i].HostPath, mac));
        }

        return hasVsock
            ? config with { EnableVsock = true, VsockCid = options.VsockCid, VsockPath = options.VsockPath }
            : config;

        static void CheckOptionCount(int given, int devices, string what, string deviceName)
        {
            if (given > devices)
            {
                throw new ArgumentException($"{given} {what} for a checkpoint with {devices} {deviceName}.", nameof(options));
            }
        }
    }

    /// <summary>How the manifest lists the virtio devices: kind, guest name and what identifies it on the host.</summary>
    private static IEnumerable<string> VirtioDeviceNames(IReadOnlyList<VirtioDeviceSnapshot> devices)
    {
        var (disk, adapter) = (0, 0);
        foreach (var device in devices)
        {
            yield return device.Type switch
            {
                VirtioDeviceType.Block => $"virtio-blk {VmDisk.GuestNameAt(disk++)} {device.HostPath}{(device.ReadOnly ? " (read-only)" : "")}",
                VirtioDeviceType.Network => $"virtio-net eth{adapter++} tap {device.HostPath} {MacAddress.FromBytes(device.Config)}",
                VirtioDeviceType.Vsock => $"{Checkpoints.Checkpoint.VsockDeviceName} cid {BinaryPrimitives.ReadUInt64LittleEndian(device.Config)}",
                _ => "virtio-rng",
            };
        }
    }
}
