using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot.Acpi;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Devices;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Devices.Virtio.Net;
using PvhVm.Core.Devices.Virtio.Rng;
using PvhVm.Core.Devices.Virtio.Vsock;
using PvhVm.Core.Interop;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>
/// A VM's devices (cloud-hypervisor's <c>device_manager.rs</c>): creates them, puts them on the port-I/O and MMIO
/// buses at their <see cref="Layout"/> addresses, wires their interrupt lines to KVM's in-kernel irqchip, and says
/// what the guest must find about them in the DSDT. Owns the disks' images (and their locks), the network adapters'
/// taps and receive threads, the vsock device's socket (and the private directory made for it), and the device I/O
/// thread with its ioeventfds and irqfds.
/// </summary>
internal sealed class DeviceManager : IDisposable
{
    private readonly List<VirtioBlock> _disks = [];
    private readonly List<VirtioNet> _networkAdapters = [];
    private const uint PrivateDirectoryMode = 0x1C0; // 0700

    private readonly List<IrqfdLine> _irqfds = [];
    private readonly List<VirtioMmioTransport> _transports = [];

    // Quiesce, Unquiesce and Dispose one at a time: a Stop may end a VM while it is being paused.
    private readonly object _threadsGate = new();
    private VirtioVsock? _vsock;
    private VirtioIoThread? _ioThread;
    private string? _createdVsockDirectory;
    private bool _disposed;

    /// <summary>
    /// Opens and locks the disks' images, opens the taps and makes the vsock socket: a <see cref="DiskImageException"/>,
    /// <see cref="TapException"/> or <see cref="VsockException"/> if one cannot be had.
    /// </summary>
    public DeviceManager(KvmVm vm, GuestMemory memory, VmConfig config, ConsoleLog console, Action guestReset, Action powerOff, ILogger logger)
    {
        Ports = new PortIoBus(logger);
        Mmio = new MmioBus(logger);
        Serial = new Uart16550(b => console.Write([b]), high => vm.SetIrqLine(Layout.Com1Irq, high), Layout.Com1Port);
        Ports.Register(Layout.Com1Port, Uart16550.PortCount, Serial);
        var i8042 = I8042 = new I8042Controller(guestReset);
        Ports.Register(Layout.I8042DataPort, 1, i8042);
        Ports.Register(Layout.I8042CommandPort, 1, i8042);
        Ports.Register(Layout.PostPort, 1, new IgnoredPorts());
        Ports.Register(Layout.AcpiSleepControlPort, AcpiPowerDevice.PortCount, new AcpiPowerDevice(powerOff, guestReset));
        try
        {
            foreach (var disk in config.Disks)
            {
                _disks.Add(new VirtioBlock(DiskImage.Open(disk.Path, disk.ReadOnly), disk.Serial));
            }

            foreach (var adapter in config.NetworkAdapters)
            {
                MacAddress.TryParse(adapter.MacAddress!, out var mac);
                _networkAdapters.Add(new VirtioNet(Tap.Open(adapter.TapName), mac, VirtioNet.DefaultMtu, logger));
            }

            if (config.HasVsock)
            {
                _vsock = OpenVsock(config.VsockCid!.Value, config.VsockPath!, logger);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        IEnumerable<IVirtioDevice> virtioDevices =
            [.. _disks, .. config.EnableEntropy ? [new VirtioRng()] : Array.Empty<IVirtioDevice>(), .. _networkAdapters, .. _vsock is null ? [] : new[] { _vsock }];
        var dsdt = new List<byte[]> { Com1Dsdt };
        try
        {
            if (config.UseVirtioEventFds && config.VirtioDeviceCount > 0 && VirtioIoThread.Supported(vm))
            {
                _ioThread = new VirtioIoThread(vm, logger);
            }

            foreach (var (device, slot) in virtioDevices.Select((device, slot) => (device, slot)))
            {
                var window = Layout.VirtioMmioBase + (ulong)slot * Layout.VirtioMmioSlotSize;
                var gsi = Layout.VirtioFirstGsi + (uint)slot;
                var transport = new VirtioMmioTransport(device, memory, InterruptLine(vm, gsi), logger);
                _transports.Add(transport);
                _ioThread?.Attach(transport, window);
                Mmio.Register(window, Layout.VirtioMmioSlotSize, transport);
                dsdt.Add(VirtioMmioDsdt(slot, window, gsi));
            }

            _ioThread?.Start();
        }
        catch
        {
            Dispose();
            throw;
        }

        DsdtDevices = dsdt;
        logger.LogDebug("virtio: {Count} device(s), {Path}", config.VirtioDeviceCount,
            _ioThread is null ? "served on the vCPU thread, KVM_IRQ_LINE interrupts" : "ioeventfd notifications served on an I/O thread, irqfd interrupts");
    }

    /// <summary>Whether queue notifications reach the devices through ioeventfds and an I/O thread (else through vCPU exits).</summary>
    public bool UsesVirtioEventFds => _ioThread is not null;

    private IInterruptLine InterruptLine(KvmVm vm, uint gsi)
    {
        if (_ioThread is null)
        {
            return new EdgeIrq(vm, gsi);
        }

        var irqfd = new IrqfdLine(vm, gsi);
        _irqfds.Add(irqfd);
        return irqfd;
    }

    /// <summary>The disks, in guest order (vda first).</summary>
    public IReadOnlyList<VirtioBlock> Disks => _disks;

    /// <summary>The network adapters, in guest order (eth0 first).</summary>
    public IReadOnlyList<VirtioNet> NetworkAdapters => _networkAdapters;

    /// <summary>
    /// The devices' entries in the DSDT's <c>\_SB</c> scope: COM1, then one per virtio-mmio device, in slot order. The DSDT is
    /// the only place the guest learns of the virtio devices (docs/DEVICES.md says why not the command line).
    /// </summary>
    public IReadOnlyList<byte[]> DsdtDevices { get; }

    public PortIoBus Ports { get; }

    public MmioBus Mmio { get; }

    /// <summary>COM1: the guest's console.</summary>
    public Uart16550 Serial { get; }

    /// <summary>The keyboard controller (the guest resets through it).</summary>
    public I8042Controller I8042 { get; }

    /// <summary>The host threads that move guest memory: the I/O thread, then the devices' own.</summary>
    private IEnumerable<IParkableThreads> ParkableThreads =>
        [.. _ioThread is null ? [] : new IParkableThreads[] { _ioThread }, .. _networkAdapters, .. _vsock is null ? [] : new[] { _vsock }];

    /// <summary>
    /// For a paused VM (its vCPUs out of the guest): parks every device thread that reads or writes guest memory. Each
    /// finishes what it took first, so every request taken is returned used and the rings are consistent.
    /// </summary>
    public void Quiesce()
    {
        lock (_threadsGate)
        {
            if (!_disposed)
            {
                foreach (var threads in ParkableThreads)
                {
                    threads.Park();
                }
            }
        }
    }

    /// <summary>Lets the parked threads go on, the devices' first (the I/O thread last, as before the pause).</summary>
    public void Unquiesce()
    {
        lock (_threadsGate)
        {
            if (!_disposed)
            {
                foreach (var threads in ParkableThreads.Reverse())
                {
                    threads.Unpark();
                }
            }
        }
    }

    /// <summary>Every virtio device's transport and identity, in slot order, for a checkpoint of the quiesced VM.</summary>
    public VirtioDeviceSnapshot[] SaveVirtio() => [.. _transports.Select(transport =>
    {
        var device = transport.Device;
        var config = new byte[ConfigBytes(device)];
        device.ReadConfig(0, config);
        return device switch
        {
            VirtioBlock block => new VirtioDeviceSnapshot(device.DeviceType, transport.Save(), config, block.Image.Path, block.Image.ReadOnly, block.Serial),
            VirtioNet adapter => new VirtioDeviceSnapshot(device.DeviceType, transport.Save(), config, adapter.TapName, false, ""),
            VirtioVsock vsock => new VirtioDeviceSnapshot(device.DeviceType, transport.Save(), config, vsock.SocketPath, false, ""),
            _ => new VirtioDeviceSnapshot(device.DeviceType, transport.Save(), config, "", false, ""),
        };
    })];

    /// <summary>
    /// Gives each freshly made virtio device its saved transport state (the restored VM's devices were made from the same
    /// kinds in the same slots), after the vCPUs and irqchip are set, so an interrupt raised here is not overwritten. A
    /// device whose configuration now differs (a clone's MAC or CID) signals a configuration change; a vsock device
    /// tells the driver its transport was reset; then each device serves what waits in its queues. Throws <see cref="CheckpointException"/> for a state the device cannot take.
    /// </summary>
    public void RestoreVirtio(IReadOnlyList<VirtioDeviceSnapshot> saved, string checkpointPath, ILogger logger)
    {
        if (saved.Count != _transports.Count)
        {
            throw new CheckpointException(CheckpointErrorKind.StateCorrupt, checkpointPath, $"the state holds {saved.Count} virtio devices; the VM has {_transports.Count}.");
        }

        foreach (var (transport, state) in _transports.Zip(saved))
        {
            var problem = transport.Device.DeviceType != state.Type
                ? $"virtio slot {_transports.IndexOf(transport)} holds a {transport.Device.DeviceType} device; the state has a {state.Type} there"
                : transport.Restore(state.Transport);
            if (problem is not null)
            {
                throw new CheckpointException(CheckpointErrorKind.StateCorrupt, checkpointPath, $"the state file is corrupt: {problem}.");
            }

            var config = new byte[ConfigBytes(transport.Device)];
            transport.Device.ReadConfig(0, config);
            if (!config.AsSpan().SequenceEqual(state.Config))
            {
                transport.ConfigurationChanged();
            }

            if (transport.Device is VirtioVsock vsock && transport.Status.HasFlag(DeviceStatus.DriverOk) && !vsock.SendTransportReset(transport))
            {
                logger.LogDebug("virtio-vsock: the restored driver has no event buffer; its connections are not told of the reset");
            }

            transport.ServePending();
        }
    }

    private static int ConfigBytes(IVirtioDevice device) => device switch
    {
        VirtioBlock => VirtioBlock.ConfigBytes,
        VirtioNet => VirtioNet.ConfigBytes,
        VirtioVsock => VirtioVsock.ConfigBytes,
        _ => 0,
    };

    /// <summary>Closes the disks' images (releasing their locks), the taps (a tap made for the VM goes with it) and the vsock socket.</summary>
    public void Dispose()
    {
        lock (_threadsGate)
        {
            DisposeUnderGate();
        }
    }

    private void DisposeUnderGate()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // First: the I/O thread serves the devices below, and must be out of them before they close.
        _ioThread?.Dispose();
        foreach (var irqfd in _irqfds)
        {
            irqfd.Dispose();
        }

        foreach (var disk in _disks)
        {
            disk.Dispose();
        }

        foreach (var adapter in _networkAdapters)
        {
            adapter.Dispose();
        }

        _vsock?.Dispose();
        if (_createdVsockDirectory is not null)
        {
            Directory.Delete(_createdVsockDirectory, recursive: false);
        }
    }

    /// <summary>
    /// The vsock device on <paramref name="path"/>. A missing directory is made private to this user (0700), since anyone
    /// who can reach the socket can talk to the guest, and removed with the VM.
    /// </summary>
    private VirtioVsock OpenVsock(uint cid, string path, ILogger logger)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            // mkdir with the mode, so the directory is never reachable by others, not even between creating and chmod.
            if (Libc.Mkdir(directory, PrivateDirectoryMode) != 0)
            {
                throw new VsockException(path, $"cannot create its directory: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
            }

            _createdVsockDirectory = directory;
        }

        return new VirtioVsock(cid, path, logger);
    }

    /// <summary>
    /// COM1: with the FADT's hardware-reduced flag Linux sets up no legacy ISA interrupts (its null PIC has none), so the
    /// UART's IRQ 4 reaches its driver only through this _CRS; without it ttyS0 has output by polling but no interrupt.
    /// QEMU's microvm describes its UART the same way. The i8042 and the POST port need no description: Linux probes
    /// them at their fixed ports.
    /// </summary>
    public static byte[] Com1Dsdt { get; } =
        Aml.Device("COM1",
            Aml.Name("_HID", Aml.EisaId("PNP0501")),
            Aml.Name("_UID", Aml.Zero),
            Aml.Name("_CRS", Aml.ResourceTemplate(
                Aml.IoPorts(Layout.Com1Port, (byte)Uart16550.PortCount),
                Aml.Irq((int)Layout.Com1Irq))));

    /// <summary>
    /// A virtio-mmio device as QEMU microvm and Firecracker describe one: _HID LNRO0005 (Linux's virtio_mmio driver
    /// matches it), its window and its GSI. The GSI reaches the driver only this way, for the reason COM1's does.
    /// </summary>
    public static byte[] VirtioMmioDsdt(int slot, ulong window, uint gsi)
        => Aml.Device($"VR{slot:D2}",
            Aml.Name("_HID", Aml.String("LNRO0005")),
            Aml.Name("_UID", Aml.ByteConst((byte)slot)),
            Aml.Name("_CRS", Aml.ResourceTemplate(
                Aml.Memory32Fixed((uint)window, (uint)Layout.VirtioMmioSlotSize),
                Aml.Interrupt(gsi))));
}
