using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Boot;
using PvhVm.Core.Kernel;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// A PVH virtual machine on /dev/kvm: config, memory, boot, a vCPU set and a device manager, console, exit.
/// Every host resource (fds, guest memory, threads) is released when the VM ends, whatever ends it.
/// </summary>
public sealed partial class VirtualMachine : IDisposable
{
    /// <summary>Smallest guest: enough for the boot structures below 1 MiB and a small kernel above.</summary>
    public const int MinimumMemoryMB = 2;

    // How long Stop and Dispose wait for the vCPU threads: normally milliseconds, but a loaded host has kept a thread
    // from a core for seconds. Past it nothing is unmapped under a vCPU; the last one out releases everything.
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    private readonly object _gate = new();
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _exited = new(false);
    private readonly ManualResetEventSlim _startReturned = new(false);
    private KernelImage? _kernel;
    private PreparedVm? _prepared;
    private DeviceManager? _devices;
    private long _exitsAtRelease;
    private VcpuSet? _vcpus;
    private VmStatus _status = VmStatus.Created;
    private int _ending;
    private bool _disposed;
    private VmConfig _config;
    private IReadOnlyList<LayoutRegion> _memoryMap = [];
    private IReadOnlyList<E820Entry> _e820Map = [];

    /// <summary>
    /// Starts preparing, in the background, what the next start of a <paramref name="memoryMB"/> MiB VM in this process
    /// takes from KVM (the VM, its irqchip, its RAM slot: milliseconds on a nested host), so that start does not wait for
    /// it. A process that runs one VM passes <paramref name="refillAfterStart"/> false: no VM is prepared after that start.
    /// </summary>
    public static void PrepareAhead(int memoryMB, bool refillAfterStart) =>
        PreparedVmPool.PrepareAhead((ulong)memoryMB << 20, refillAfterStart);

    /// <summary>Reads the kernel image and checks the initrd; throws <see cref="KernelImageException"/> or <see cref="BootException"/> for what cannot boot.</summary>
    public VirtualMachine(VmConfig config, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(config.Name);
        _config = config with { Disks = [], NetworkAdapters = [] };
        _logger = logger ?? NullLogger.Instance;
        if (config.MemoryMB < MinimumMemoryMB)
        {
            throw new BootException(BootErrorKind.MemoryTooSmall, $"MemoryMB {config.MemoryMB} is below the minimum of {MinimumMemoryMB} MiB.");
        }

        if ((ulong)config.MemoryMB << 20 > HostMemory.TotalBytes)
        {
            throw new BootException(BootErrorKind.MemoryTooLarge,
                $"MemoryMB {config.MemoryMB} is more than this host's {HostMemory.TotalBytes >> 20} MiB of RAM.");
        }

        if (config.ProcessorCount is < 1 or > Layout.MaxProcessors)
        {
            throw new BootException(BootErrorKind.InvalidProcessorCount, $"ProcessorCount {config.ProcessorCount} is outside 1-{Layout.MaxProcessors}.");
        }

        foreach (var disk in config.Disks)
        {
            _config = WithDisk(_config, disk);
        }

        foreach (var adapter in config.NetworkAdapters)
        {
            _config = WithNetworkAdapter(_config, adapter);
        }

        _kernel = KernelImage.Open(config.KernelPath);
        BootInfo = _kernel.Info;
        try
        {
            if (!BootInfo.IsPvhBootable)
            {
                throw new BootException(BootErrorKind.NotPvhBootable, $"{config.KernelPath} cannot boot through PVH: {BootInfo.NotPvhBootableReason}");
            }

            // Checked now so a wrong path fails at creation; Start opens it again and loads what is there then.
            if (config.InitrdPath is not null)
            {
                InitrdFile.Open(config.InitrdPath).Dispose();
            }

            // Last: the CID is held from here until Dispose.
            _config = WithVsockResolved(_config);
        }
        catch
        {
            _kernel.Dispose();
            throw;
        }
    }

    public Guid Id { get; } = Guid.NewGuid();

    /// <summary>What the VM is built from; its disks change with <see cref="AddDisk"/> and <see cref="RemoveDisk"/> until it starts.</summary>
    public VmConfig Config => Volatile.Read(ref _config);

    public string Name => Config.Name;

    /// <summary>What the kernel image declares (read when the VM was created).</summary>
    public BootInfo BootInfo { get; }

    /// <summary>State, exit reason, fault and times as one consistent snapshot; prefer it to reading the properties one by one.</summary>
    public VmStatus Status => Volatile.Read(ref _status);

    public VmState State => Status.State;

    public DateTimeOffset? StartTime => Status.StartTime;

    public DateTimeOffset? StopTime => Status.StopTime;

    /// <summary>Running time so far, or from start to exit once stopped.</summary>
    public TimeSpan? Uptime => Status is { StartTime: { } start } status ? (status.StopTime ?? DateTimeOffset.Now) - start : null;

    public VmExitReason? ExitReason => Status.ExitReason;

    public VmFault? Fault => Status.Fault;

    public ConsoleLog Console { get; } = new();

    /// <summary>The guest layout once started; before that, empty.</summary>
    public IReadOnlyList<LayoutRegion> MemoryMap => _memoryMap;

    /// <summary>The e820 map handed to the guest in start_info once started; before that, empty.</summary>
    public IReadOnlyList<E820Entry> E820Map => _e820Map;

    /// <summary>Port accesses no device claimed (read as all-ones).</summary>
    public long UnhandledPortAccesses => _devices?.Ports.UnhandledAccesses ?? 0;

    /// <summary>MMIO accesses outside RAM that no device claimed (read as all-ones, writes dropped).</summary>
    public long UnhandledMmioAccesses => _devices?.Mmio.UnhandledAccesses ?? 0;

    /// <summary>
    /// Exits from the guest to this process (port and MMIO accesses, halts, ...) over all vCPUs since the VM started:
    /// what device and console I/O costs in round trips through the host, the figure the benchmark divides by requests.
    /// </summary>
    public long VcpuExits => _vcpus?.Exits ?? Interlocked.Read(ref _exitsAtRelease);

    /// <summary>
    /// Whether the VM's virtio queue notifications reach its devices through KVM ioeventfds and a device I/O thread, with
    /// irqfd interrupts (<see cref="VmConfig.UseVirtioEventFds"/> and a host that has them); false before the VM starts.
    /// </summary>
    public bool VirtioEventFdsInUse => _devices?.UsesVirtioEventFds ?? false;

    /// <summary>Raised once, from an engine thread, when the VM reaches Stopped or Failed.</summary>
    public event EventHandler? Exited;

    /// <summary>Builds memory, loads the kernel and starts the vCPUs. Throws BootException / KvmException before any vCPU runs.</summary>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (State != VmState.Created)
            {
                throw new InvalidOperationException($"VM '{Name}' is {State}; only a VM in state Created can start.");
            }

            Publish(_status with { State = VmState.Starting });
        }

        try
        {
            BootAndRun();
        }
        finally
        {
            // Dispose waits for this: guest memory must not be unmapped while the loader still writes it.
            _startReturned.Set();
        }
    }

    private void BootAndRun()
    {
        try
        {
            BuildAndLoad();
        }
        catch (Exception e)
        {
            ReleaseResources();
            lock (_gate)
            {
                // A Stop that came first keeps its reason.
                var status = Interlocked.Exchange(ref _ending, 1) == 0
                    ? _status with { ExitReason = VmExitReason.BootFailed, Fault = new VmFault(-1, "boot failed", null, 0, [], e.Message) }
                    : _status;
                Publish(status with { State = VmState.Failed, StopTime = DateTimeOffset.Now });
            }

            Console.Complete();
            _exited.Set();
            throw;
        }

        var vcpus = _vcpus!;
        lock (_gate)
        {
            Console.Restart();
            Console.Write(_restoredConsoleLine);
            // A Stop while the VM was Starting already made it Stopping, with its reason: it stays so.
            Publish(_status with { State = _status.State == VmState.Starting ? VmState.Running : _status.State, StartTime = DateTimeOffset.Now });
        }

        // That Stop found no vCPUs to stop: tell them now, before their threads start.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _ending) != 0)
        {
            vcpus.RequestStop();
        }

        _logger.LogDebug("VM {Name}: starting {Count} vCPU(s) at entry 0x{Entry:x}", Name, vcpus.Count, BootInfo.PvhEntryPoint);
        vcpus.Start(Name);
    }

    /// <summary>Forces the VM to stop; returns when every vCPU thread has left the guest.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (State is VmState.Created)
            {
                throw new InvalidOperationException($"VM '{Name}' was never started.");
            }
        }

        EndVm(VmExitReason.Stopped, null);
        _exited.Wait(StopGrace);
    }

    /// <summary>Waits until the VM has exited (a VM disposed before it started counts); false on timeout or cancellation.</summary>
    public bool WaitForExit(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            return _exited.Wait(Deadline.After(timeout).RemainingMilliseconds, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Types bytes into the guest's UART receive FIFO; returns how many were accepted.</summary>
    public int SendConsole(ReadOnlySpan<byte> bytes)
    {
        var devices = _devices;
        if (State != VmState.Running || devices is null)
        {
            throw new InvalidOperationException($"VM '{Name}' is {State}; console input needs a running VM.");
        }

        try
        {
            return devices.Serial.Receive(bytes);
        }
        catch (ObjectDisposedException)
        {
            // The VM ended between the check and the interrupt it raised.
            throw new InvalidOperationException($"VM '{Name}' is {State}; console input needs a running VM.");
        }
    }

    public void Dispose()
    {
        bool started;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            started = State != VmState.Created;
        }

        if (VsockCid is { } cid)
        {
            VsockCids.Release(cid);
        }

        if (!started)
        {
            // It can never run now: whoever waits for its console or its exit is let go.
            Console.Complete();
            _exited.Set();
        }
        else
        {
            EndVm(VmExitReason.Stopped, null);
            if (!_startReturned.Wait(StopGrace) || !_exited.Wait(StopGrace))
            {
                // Unmapping guest memory under the loader, or kvm_run under a vCPU still in KVM_RUN, would crash the
                // host process; leaking them is the lesser harm. The failed start or the last vCPU out releases them.
                _logger.LogError("VM {Name}: its start or vCPU threads did not end within {Grace}; its resources are released when they do.", Name, StopGrace);
                return;
            }
        }

        ReleaseResources();
    }

    private void BuildAndLoad()
    {
        if (_restoreFrom is not null)
        {
            BuildFromCheckpoint(_restoreFrom);
            return;
        }

        var kernel = _kernel ?? throw new ObjectDisposedException(Name);
        var supportedCpuid = VcpuSet.CheckHost(Config.ProcessorCount);
        var prepared = _prepared = PreparedVmPool.Take((ulong)Config.MemoryMB << 20);
        var devices = _devices = new DeviceManager(prepared.Vm, prepared.Memory, Config, Console,
            () => EndVm(VmExitReason.GuestReset, null), () => EndVm(VmExitReason.PowerOff, null), _logger);

        var plan = PvhBootLoader.Load(prepared.Memory, kernel,
            new BootParameters(Config.CommandLine, Config.InitrdPath, Config.ProcessorCount, devices.DsdtDevices));
        _memoryMap = plan.Layout;
        _e820Map = plan.MemoryMap;
        _kernel = null;
        kernel.Dispose();

        // Published only when complete: a Stop or a failure meanwhile sees no half-built set.
        _vcpus = VcpuSet.Create(prepared.Vm, prepared.Memory, devices, supportedCpuid, Config.ProcessorCount, plan.EntryState,
            EndVm, OnLastVcpuOut, _logger);
    }

    /// <summary>Ends the VM with a reason (the first reason wins) and makes every vCPU leave the guest.</summary>
    private void EndVm(VmExitReason reason, VmFault? fault)
    {
        if (Interlocked.Exchange(ref _ending, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            // The reason and the state change in one publication. A VM still Starting becomes Stopping too: it never
            // shows Running (or Starting) with an exit reason.
            var state = _status.State is VmState.Starting or VmState.Running or VmState.Paused ? VmState.Stopping : _status.State;
            Publish(_status with { State = state, ExitReason = reason, Fault = fault });
        }

        if (fault is not null)
        {
            _logger.LogWarning("VM {Name} failed: {Fault}", Name, fault.Message);
        }
        else
        {
            _logger.LogDebug("VM {Name} ends: {Reason}", Name, reason);
        }

        _vcpus?.RequestStop();
    }

    /// <summary>
    /// On the last vCPU thread out: every thread has left KVM_RUN, so the VM has stopped and the fds and memory can go.
    /// Waiters are released first: tearing down a KVM VM can take a while on a busy host, and Dispose still waits
    /// for the release through the gate.
    /// </summary>
    private void OnLastVcpuOut()
    {
        lock (_gate)
        {
            Publish(_status with
            {
                State = _status.ExitReason == VmExitReason.Fault ? VmState.Failed : VmState.Stopped,
                StopTime = DateTimeOffset.Now,
            });
        }

        // Before any waiter is released: a VM that has stopped has let go of its disk images (and their locks), so
        // the image can go straight to another VM. No vCPU is left to touch a device.
        _devices?.Dispose();

        // After the state: a console waiter woken by completion sees the VM ended, not still Stopping.
        Console.Complete();
        _logger.LogDebug("VM {Name} stopped after {Uptime}: {Reason}", Name, Uptime, ExitReason);
        _exited.Set();
        ReleaseResources();
        try
        {
            Exited?.Invoke(this, EventArgs.Empty);
        }
        catch (Exception e)
        {
            // An exception escaping this vCPU thread would end the host process.
            _logger.LogError(e, "VM {Name}: an Exited handler failed", Name);
        }
    }

    /// <summary>Called under the gate: the one place the status changes, as a whole.</summary>
    private void Publish(VmStatus status) => Volatile.Write(ref _status, status);

    /// <summary>Called under the gate (or in the constructor): the one place the configuration changes.</summary>
    private void Publish(VmConfig config) => Volatile.Write(ref _config, config);

    private void ThrowUnlessCreated(string operation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (State != VmState.Created)
        {
            throw new InvalidOperationException($"Cannot {operation} VM '{Name}' in state {State}: disks change only before the VM starts.");
        }
    }

    /// <summary>Throws TooManyDevices when <paramref name="config"/> has no virtio-mmio slot left for <paramref name="what"/>.</summary>
    private static void CheckDeviceSlot(VmConfig config, string what)
    {
        if (config.VirtioDeviceCount >= Layout.MaxVirtioDevices)
        {
            throw new BootException(BootErrorKind.TooManyDevices,
                $"A VM has at most {Layout.MaxVirtioDevices} virtio devices (disks, entropy source, network adapters, vsock); {what} would be one more.");
        }
    }

    private void ReleaseResources()
    {
        lock (_gate)
        {
            if (_vcpus is { } vcpus)
            {
                Interlocked.Exchange(ref _exitsAtRelease, vcpus.Exits);
                vcpus.Release();
            }

            _vcpus = null;
            // Before RAM and the KVM VM go: device threads (network receive, vsock) write guest memory and raise interrupts.
            _devices?.Dispose();
            _prepared?.Dispose();
            _prepared = null;
            _kernel?.Dispose();
            _kernel = null;
        }
    }
}
