using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot;
using PvhVm.Core.Devices;
using PvhVm.Core.Interop;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>
/// One vCPU's thread: enters the guest with KVM_RUN, dispatches port I/O and MMIO exits, and reports the
/// exits that end the VM. Can be kicked out of the guest from any thread (signal + immediate_exit).
/// </summary>
internal sealed partial class VcpuRunner
{
    private const int ThreadStackSize = 256 * 1024;
    private const ulong InterruptFlag = 1ul << 9;
    private const uint SystemEventShutdown = 1;
    private const uint SystemEventReset = 2;

    private readonly KvmVcpu _vcpu;
    private readonly GuestMemory _memory;
    private readonly PortIoBus _ports;
    private readonly MmioBus _mmio;
    private readonly IVcpuHost _host;
    private readonly ILogger _logger;
    private readonly object _threadGate = new();
    private Thread? _thread;
    private nuint _pthread;
    private bool _inRunLoop;
    private volatile bool _stopRequested;
    private volatile bool _haltCheckRequested;
    private long _exits;

    public VcpuRunner(KvmVcpu vcpu, GuestMemory memory, PortIoBus ports, MmioBus mmio, IVcpuHost host, ILogger logger)
    {
        _vcpu = vcpu;
        _memory = memory;
        _ports = ports;
        _mmio = mmio;
        _host = host;
        _logger = logger;
    }

    public int Index => _vcpu.Index;

    /// <summary>Exits handled so far; the halt watchdog compares it between ticks.</summary>
    public long Exits => Interlocked.Read(ref _exits);

    /// <summary>True when the last halt check found the vCPU parked: halted with interrupts off, or an AP never started.</summary>
    public bool IsParked { get; private set; }

    public void Start(string vmName)
    {
        _thread = new Thread(RunLoop, ThreadStackSize) { IsBackground = true, Name = $"PvhVm {vmName} vCPU {Index}" };
        _thread.Start();
    }

    /// <summary>Makes the thread leave the guest for good.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        Kick(stop: true);
        WakeFromPause();
    }

    /// <summary>Interrupts the guest once so the thread can look at whether the vCPU is parked.</summary>
    public void RequestHaltCheck()
    {
        _haltCheckRequested = true;
        Kick(stop: false);
    }

    private void Kick(bool stop)
    {
        // Only while the loop runs: pthread_kill on a finished thread is undefined, and kvm_run is unmapped once
        // the last vCPU is out (a guest reset racing a Stop). A loop not yet started sees the flags instead.
        lock (_threadGate)
        {
            if (_inRunLoop)
            {
                if (stop)
                {
                    _vcpu.ImmediateExit = true;
                }

                VcpuKicker.Kick(_pthread);
            }
        }
    }

    private void RunLoop()
    {
        lock (_threadGate)
        {
            _pthread = Libc.PthreadSelf();
            _inRunLoop = true;
        }

        try
        {
            while (!_stopRequested)
            {
                if (_pauseRequested)
                {
                    // Out through one more KVM_RUN: it completes the last I/O exit, so the saved state is consistent.
                    _vcpu.ImmediateExit = true;
                }

                var exit = _vcpu.Run();
                if (exit.Kind == VcpuExitKind.Interrupted)
                {
                    if (_pauseRequested)
                    {
                        WaitOutPause();
                        continue;
                    }

                    if (_haltCheckRequested)
                    {
                        _haltCheckRequested = false;
                        CheckParked();
                    }

                    continue;
                }

                Interlocked.Increment(ref _exits);
                IsParked = false;
                if (!HandleExit(exit))
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            // An exception escaping a thread would end the whole host process: it ends this VM instead.
            _host.EndVm(VmExitReason.Fault, new VmFault(Index, "host error", null, 0, [], $"vCPU {Index}: {e.Message}"));
        }
        finally
        {
            lock (_threadGate)
            {
                _inRunLoop = false;
            }

            MarkFinished();
            _host.VcpuFinished(this);
        }
    }

    /// <summary>Handles one exit; false when the VM ends.</summary>
    private bool HandleExit(VcpuExit exit)
    {
        switch (exit.Kind)
        {
            case VcpuExitKind.IoOut:
                PortAccess(exit, output: true);
                return true;
            case VcpuExitKind.IoIn:
                PortAccess(exit, output: false);
                return true;
            case VcpuExitKind.MmioRead:
                _mmio.Read(exit.Address, exit.Data);
                return true;
            case VcpuExitKind.MmioWrite:
                _mmio.Write(exit.Address, exit.Data);
                return true;
            case VcpuExitKind.Intr or VcpuExitKind.IrqWindowOpen:
                return true;
            case VcpuExitKind.Halt:
                return _host.EndVm(VmExitReason.GuestHalt, null);
            case VcpuExitKind.Shutdown:
                return _host.EndVm(VmExitReason.TripleFault, null);
            case VcpuExitKind.SystemEvent when exit.SystemEventType == SystemEventReset:
                return _host.EndVm(VmExitReason.GuestReset, null);
            case VcpuExitKind.SystemEvent when exit.SystemEventType == SystemEventShutdown:
                return _host.EndVm(VmExitReason.PowerOff, null);
            default:
                return _host.EndVm(VmExitReason.Fault, ExitDecoder.DescribeFault(_vcpu, exit, _memory));
        }
    }

    /// <summary>One bus access per item of a string instruction (<c>rep outsb</c> and the like).</summary>
    private void PortAccess(VcpuExit exit, bool output)
    {
        var data = exit.Data;
        for (var offset = 0; offset < data.Length; offset += exit.AccessSize)
        {
            var item = data.Slice(offset, exit.AccessSize);
            if (output)
            {
                _ports.Write(exit.Port, item);
            }
            else
            {
                _ports.Read(exit.Port, item);
            }
        }
    }

    private void CheckParked()
    {
        var state = _vcpu.GetMpState();
        IsParked = state is KvmVcpu.MpStateUninitialized or KvmVcpu.MpStateInitReceived
            || (state == KvmVcpu.MpStateHalted && (_vcpu.GetRegs().Rflags & InterruptFlag) == 0);
        if (IsParked)
        {
            _logger.LogDebug("vCPU {Index} is parked (mp_state {State})", Index, state);
            _host.VcpuParked();
        }
    }
}
