using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Checkpoints;
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
    private byte[] _restoredConsoleLine = [];

    /// <summary>A VM to be started from <paramref name="checkpoint"/>: its saved configuration under a name of its own.</summary>
    private VirtualMachine(Checkpoint checkpoint, string name, ILogger? logger)
    {
        _restoreFrom = checkpoint;
        _config = checkpoint.ConfigFor(name);
        _logger = logger ?? NullLogger.Instance;
        BootInfo = checkpoint.BootInfo;
    }

    /// <summary>The checkpoint this VM was restored from; null for a VM that booted.</summary>
    public Checkpoint? RestoredFrom => _restoreFrom;

    /// <summary>
    /// A VM in state Created that <see cref="Start"/> resumes from the checkpoint at <paramref name="path"/> instead of
    /// booting, named <paramref name="name"/> (the checkpoint's VM name when null). Throws <see cref="CheckpointException"/>
    /// for a folder that is not a readable checkpoint; the state file is checked in full when the VM starts.
    /// </summary>
    public static VirtualMachine Restore(string path, string? name = null, ILogger? logger = null)
    {
        var checkpoint = Checkpoint.Read(path);
        return new VirtualMachine(checkpoint, string.IsNullOrWhiteSpace(name) ? checkpoint.VmName : name, logger);
    }

    /// <summary>
    /// Saves the paused VM to the new or empty folder <paramref name="path"/>; it stays paused. Throws
    /// <see cref="InvalidOperationException"/> unless Paused, <see cref="CheckpointException"/> for a VM with virtio
    /// devices (their queues' state is not saved yet) or a folder that is not empty.
    /// </summary>
    public Checkpoint CreateCheckpoint(string path)
    {
        lock (_pauseGate)
        {
            var vcpus = ActiveVcpus("checkpoint", VmState.Paused);
            if (Config.VirtioDeviceCount > 0)
            {
                throw new CheckpointException(CheckpointErrorKind.UnsupportedDevice, path,
                    $"VM '{Name}' has virtio devices (disks, entropy, network, vsock); a checkpoint saves only VMs without them so far.");
            }

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
                Devices = CheckpointDevices,
            };
            var checkpoint = Checkpoints.Checkpoint.Write(path, manifest, SnapshotFormat.Write(snapshot), prepared.Memory.WriteSparseFile);
            _logger.LogDebug("VM {Name} checkpointed to {Path}: {Data} of {Ram} bytes of RAM held data", Name, checkpoint.Path, checkpoint.MemoryDataBytes, checkpoint.MemoryBytes);
            return checkpoint;
        }
    }

    /// <summary>Start's counterpart of <see cref="BuildAndLoad"/> for a restored VM: RAM from the file, then irqchip, devices, vCPUs and clock.</summary>
    private void BuildFromCheckpoint(Checkpoint checkpoint)
    {
        var snapshot = checkpoint.ReadState();
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
        }
        catch (KvmException e)
        {
            throw new CheckpointException(CheckpointErrorKind.StateRejected, checkpoint.Path, $"KVM refused the saved state: {e.Message}", e);
        }

        _restoredConsoleLine = snapshot.ConsolePartialLine;
    }
}
