using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Boot;
using PvhVm.Core.Devices;
using PvhVm.Core.Kernel;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// A PVH virtual machine on /dev/kvm: config, memory, boot, one thread per vCPU, console, exit.
/// Every host resource (fds, guest memory, threads) is released when the VM ends, whatever ends it.
/// </summary>
public sealed class VirtualMachine : IDisposable, IVcpuHost
{
    /// <summary>Smallest guest: enough for the boot structures below 1 MiB and a small kernel above.</summary>
    public const int MinimumMemoryMB = 2;

    /// <summary>xAPIC ids in the MADT are 8-bit; 0xFF is broadcast.</summary>
    public const int MaximumProcessorCount = 254;

    private static readonly TimeSpan HaltCheckPeriod = TimeSpan.FromMilliseconds(200);
    // How long Stop and Dispose wait for the vCPU threads: normally milliseconds, but a loaded host has kept a thread
    // from a core for seconds. Past it nothing is unmapped under a vCPU; the last one out releases everything.
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);
    // PublicationOnly: a failure (no /dev/kvm yet, descriptors exhausted) is not cached for the life of the process.
    private static readonly Lazy<KvmCpuidEntry2[]> SupportedCpuid = new(() =>
    {
        using var system = KvmSystem.Open();
        return system.GetSupportedCpuid();
    }, LazyThreadSafetyMode.PublicationOnly);

    private readonly object _gate = new();
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _exited = new(false);
    private readonly ManualResetEventSlim _startReturned = new(false);
    private KernelImage? _kernel;
    private KvmSystem? _system;
    private KvmVm? _vm;
    private GuestMemory? _memory;
    private VcpuRunner[] _runners = [];
    private KvmVcpu[] _vcpus = [];
    private Uart16550? _uart;
    private PortIoBus? _ports;
    private Timer? _haltWatchdog;
    private long[] _exitsAtLastCheck = [];
    private int _liveVcpus;
    private int _ending;
    private bool _disposed;
    private long _unhandledMmio;
    private IReadOnlyList<LayoutRegion> _memoryMap = [];
    private IReadOnlyList<E820Entry> _e820Map = [];

    /// <summary>Reads the kernel image and checks the initrd; throws <see cref="KernelImageException"/> or <see cref="BootException"/> for what cannot boot.</summary>
    public VirtualMachine(VmConfig config, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(config.Name);
        Config = config;
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

        if (config.ProcessorCount is < 1 or > MaximumProcessorCount)
        {
            throw new BootException(BootErrorKind.InvalidProcessorCount, $"ProcessorCount {config.ProcessorCount} is outside 1-{MaximumProcessorCount}.");
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
        }
        catch
        {
            _kernel.Dispose();
            throw;
        }
    }

    public Guid Id { get; } = Guid.NewGuid();

    public VmConfig Config { get; }

    public string Name => Config.Name;

    /// <summary>What the kernel image declares (read when the VM was created).</summary>
    public BootInfo BootInfo { get; }

    public VmState State { get; private set; } = VmState.Created;

    public DateTimeOffset? StartTime { get; private set; }

    public DateTimeOffset? StopTime { get; private set; }

    /// <summary>Running time so far, or from start to exit once stopped.</summary>
    public TimeSpan? Uptime => StartTime is not { } start ? null : (StopTime ?? DateTimeOffset.Now) - start;

    public VmExitReason? ExitReason { get; private set; }

    public VmFault? Fault { get; private set; }

    public ConsoleLog Console { get; } = new();

    /// <summary>The guest layout once started; before that, empty.</summary>
    public IReadOnlyList<LayoutRegion> MemoryMap => _memoryMap;

    /// <summary>The e820 map handed to the guest in start_info once started; before that, empty.</summary>
    public IReadOnlyList<E820Entry> E820Map => _e820Map;

    /// <summary>Port accesses no device claimed (read as all-ones).</summary>
    public long UnhandledPortAccesses => _ports?.UnhandledAccesses ?? 0;

    /// <summary>MMIO accesses outside RAM (read as all-ones, writes dropped).</summary>
    public long UnhandledMmioAccesses => Interlocked.Read(ref _unhandledMmio);

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

            State = VmState.Starting;
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
                if (Interlocked.Exchange(ref _ending, 1) == 0)
                {
                    ExitReason = VmExitReason.BootFailed;
                    Fault = new VmFault(-1, "boot failed", null, 0, [], e.Message);
                }

                State = VmState.Failed;
                StopTime = DateTimeOffset.Now;
            }

            Console.Complete();
            _exited.Set();
            throw;
        }

        lock (_gate)
        {
            StartTime = DateTimeOffset.Now;
            Console.Restart();
            State = VmState.Running;
            _liveVcpus = _runners.Length;
        }

        // A Stop while the VM was Starting found no runners to stop: tell them now, before their threads start.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _ending) != 0)
        {
            foreach (var runner in _runners)
            {
                runner.RequestStop();
            }
        }

        // Before the threads: the last vCPU out disposes it, however soon that is.
        _haltWatchdog = new Timer(_ => CheckForHalt(), null, HaltCheckPeriod, HaltCheckPeriod);
        _logger.LogDebug("VM {Name}: starting {Count} vCPU(s) at entry 0x{Entry:x}", Name, _runners.Length, BootInfo.PvhEntryPoint);
        var started = 0;
        try
        {
            foreach (var runner in _runners)
            {
                runner.Start(Name);
                started++;
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // The host refused a thread (memory, thread or descriptor limits): the VM fails, the vCPUs already running
            // leave the guest, and those never started count as finished so that the last one out releases everything.
            EndVm(VmExitReason.Fault, new VmFault(started, "host error", null, 0, [], $"vCPU {started}: the host could not start its thread: {e.Message}"));
            for (var i = started; i < _runners.Length; i++)
            {
                ((IVcpuHost)this).VcpuFinished(_runners[i]);
            }

            throw new KvmException("start vCPU thread", Interop.Libc.EAGAIN, e.Message);
        }
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

    /// <summary>Waits for a console line matching <paramref name="pattern"/> (also among lines printed before the call); null on timeout, exit or cancellation.</summary>
    public ConsoleLine? WaitForConsole(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Deadline.After(timeout);
        var seen = -1L;
        while (true)
        {
            foreach (var line in Console.ReadAfter(seen))
            {
                if (pattern.IsMatch(line.Text))
                {
                    return line;
                }

                seen = line.Sequence;
            }

            if (!Console.WaitForLinesAfter(seen, deadline.Remaining, cancellationToken))
            {
                // One last look: lines flushed by completion arrive together with the wake-up.
                return Console.ReadAfter(seen).FirstOrDefault(l => pattern.IsMatch(l.Text));
            }
        }
    }

    /// <summary>Types bytes into the guest's UART receive FIFO; returns how many were accepted.</summary>
    public int SendConsole(ReadOnlySpan<byte> bytes)
    {
        var uart = _uart;
        if (State != VmState.Running || uart is null)
        {
            throw new InvalidOperationException($"VM '{Name}' is {State}; console input needs a running VM.");
        }

        try
        {
            return uart.Receive(bytes);
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

        _haltWatchdog?.Dispose();
        ReleaseResources();
    }

    private void BuildAndLoad()
    {
        var kernel = _kernel ?? throw new ObjectDisposedException(Name);
        // /dev/kvm, the VM and one per vCPU.
        DescriptorHeadroom.Ensure(2 + Config.ProcessorCount);
        var supportedCpuid = SupportedCpuid.Value;
        var prepared = PreparedVmPool.Take((ulong)Config.MemoryMB << 20);
        (_system, _vm, _memory) = (prepared.System, prepared.Vm, prepared.Memory);

        var plan = PvhBootLoader.Load(_memory, kernel, new BootParameters(Config.CommandLine, Config.InitrdPath, Config.ProcessorCount));
        _memoryMap = plan.Layout;
        _e820Map = plan.MemoryMap;
        _kernel = null;
        kernel.Dispose();

        var vm = _vm;
        _uart = new Uart16550(b => Console.Write([b]), high => vm.SetIrqLine(Uart16550.Com1Irq, high));
        _ports = new PortIoBus(_logger);
        _ports.Register(Uart16550.Com1Base, Uart16550.PortCount, _uart);
        var i8042 = new I8042Controller(() => EndVm(VmExitReason.GuestReset, null));
        _ports.Register(I8042Controller.DataPort, 1, i8042);
        _ports.Register(I8042Controller.CommandPort, 1, i8042);
        _ports.Register(AcpiPowerDevice.SleepControlPort, AcpiPowerDevice.PortCount,
            new AcpiPowerDevice(() => EndVm(VmExitReason.PowerOff, null), () => EndVm(VmExitReason.GuestReset, null)));
        _ports.Register(0x80, 1, new IgnoredPorts());

        VcpuKicker.EnsureInstalled();
        // Published only when complete: a Stop or a failure meanwhile sees no half-built arrays.
        var vcpus = new List<KvmVcpu>(Config.ProcessorCount);
        try
        {
            for (var i = 0; i < Config.ProcessorCount; i++)
            {
                var vcpu = _vm.CreateVcpu(i);
                vcpus.Add(vcpu);
                vcpu.SetCpuid(CpuidSetup.ForVcpu(supportedCpuid, i, Config.ProcessorCount));
                VcpuInitialState.SetMsrs(vcpu, _logger);
            }

            VcpuInitialState.SetPvhEntry(vcpus[0], plan.EntryState);
        }
        catch
        {
            vcpus.ForEach(v => v.Dispose());
            throw;
        }

        var (memory, ports) = (_memory, _ports);
        _vcpus = [.. vcpus];
        _exitsAtLastCheck = new long[_vcpus.Length];
        _runners = [.. _vcpus.Select(v => new VcpuRunner(v, memory, ports, this, _logger))];
    }

    bool IVcpuHost.EndVm(VmExitReason reason, VmFault? fault) => EndVm(reason, fault);

    private bool EndVm(VmExitReason reason, VmFault? fault)
    {
        if (Interlocked.Exchange(ref _ending, 1) == 0)
        {
            lock (_gate)
            {
                ExitReason = reason;
                Fault = fault;
                if (State == VmState.Running)
                {
                    State = VmState.Stopping;
                }
            }

            if (fault is not null)
            {
                _logger.LogWarning("VM {Name} failed: {Fault}", Name, fault.Message);
            }
            else
            {
                _logger.LogDebug("VM {Name} ends: {Reason}", Name, reason);
            }

            foreach (var runner in _runners)
            {
                runner.RequestStop();
            }
        }

        return false;
    }

    void IVcpuHost.UnhandledMmio(int vcpu, ulong address, int length, bool isWrite)
    {
        if (Interlocked.Increment(ref _unhandledMmio) <= 16)
        {
            _logger.LogDebug("VM {Name} vCPU {Vcpu}: unhandled MMIO {Access} of {Length} byte(s) at 0x{Address:x}",
                Name, vcpu, isWrite ? "write" : "read", length, address);
        }
    }

    void IVcpuHost.VcpuParked()
    {
        if (_runners.All(r => r.IsParked))
        {
            EndVm(VmExitReason.GuestHalt, null);
        }
    }

    void IVcpuHost.VcpuFinished(VcpuRunner runner)
    {
        if (Interlocked.Decrement(ref _liveVcpus) > 0)
        {
            return;
        }

        // The last vCPU out: every thread has left KVM_RUN, so the VM has stopped and the fds and memory can go.
        // Waiters are released first: tearing down a KVM VM can take a while on a busy host, and Dispose
        // still waits for the release through the gate.
        _haltWatchdog?.Dispose();
        lock (_gate)
        {
            StopTime = DateTimeOffset.Now;
            State = ExitReason == VmExitReason.Fault ? VmState.Failed : VmState.Stopped;
        }

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

    private void CheckForHalt()
    {
        // A vCPU that made no exits since the last tick is either busy in the guest or blocked in a halt:
        // interrupt it once so its thread can tell which.
        for (var i = 0; i < _runners.Length; i++)
        {
            var exits = _runners[i].Exits;
            if (exits == _exitsAtLastCheck[i])
            {
                _runners[i].RequestHaltCheck();
            }

            _exitsAtLastCheck[i] = exits;
        }
    }

    private void ReleaseResources()
    {
        lock (_gate)
        {
            foreach (var vcpu in _vcpus)
            {
                vcpu.Dispose();
            }

            _vcpus = [];
            _vm?.Dispose();
            _vm = null;
            _system?.Dispose();
            _system = null;
            _memory?.Dispose();
            _memory = null;
            _kernel?.Dispose();
            _kernel = null;
            _uart = null;
        }
    }
}
