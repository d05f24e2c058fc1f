using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

/// <summary>
/// A VM's vCPUs (cloud-hypervisor's CpuManager in <c>vmm/src/cpu.rs</c>): creates them with their CPUID and MSRs and
/// vCPU 0 at the PVH entry, runs one thread each, kicks them out of the guest, watches for a guest that halted for
/// good, and tells the machine when the last one is out, so that it can release everything.
/// </summary>
internal sealed partial class VcpuSet : IVcpuHost
{
    private static readonly TimeSpan HaltCheckPeriod = TimeSpan.FromMilliseconds(200);

    // PublicationOnly: a failure (no /dev/kvm yet, descriptors exhausted) is not cached for the life of the process.
    private static readonly Lazy<KvmCpuidEntry2[]> SupportedCpuid = new(() =>
    {
        using var system = KvmSystem.Open();
        return system.GetSupportedCpuid();
    }, LazyThreadSafetyMode.PublicationOnly);

    private readonly KvmVcpu[] _vcpus;
    private readonly VcpuRunner[] _runners;
    private readonly long[] _exitsAtLastCheck;
    private readonly Action<VmExitReason, VmFault?> _endVm;
    private readonly Action _lastOut;
    private readonly ILogger _logger;
    private Timer? _haltWatchdog;
    private int _live;

    private VcpuSet(KvmVcpu[] vcpus, GuestMemory memory, DeviceManager devices, Action<VmExitReason, VmFault?> endVm, Action lastOut, ILogger logger)
    {
        _vcpus = vcpus;
        _endVm = endVm;
        _lastOut = lastOut;
        _logger = logger;
        _exitsAtLastCheck = new long[vcpus.Length];
        _runners = [.. vcpus.Select(v => new VcpuRunner(v, memory, devices.Ports, devices.Mmio, this, logger))];
        _live = vcpus.Length;
    }

    public int Count => _vcpus.Length;

    /// <summary>
    /// What the host must offer before a VM of <paramref name="count"/> vCPUs is built: descriptors for /dev/kvm, the
    /// VM and each vCPU, and KVM's supported CPUID (read once per process).
    /// </summary>
    public static KvmCpuidEntry2[] CheckHost(int count)
    {
        DescriptorHeadroom.Ensure(2 + count);
        return SupportedCpuid.Value;
    }

    /// <summary>
    /// Creates <paramref name="count"/> vCPUs on <paramref name="vm"/>, vCPU 0 at <paramref name="entry"/>.
    /// <paramref name="endVm"/> ends the VM (the first reason wins); <paramref name="lastOut"/> runs once, on the last vCPU thread to finish.
    /// </summary>
    public static VcpuSet Create(KvmVm vm, GuestMemory memory, DeviceManager devices, KvmCpuidEntry2[] supportedCpuid, int count,
        CpuEntryState entry, Action<VmExitReason, VmFault?> endVm, Action lastOut, ILogger logger)
        => Create(vm, memory, devices, count, vcpu =>
        {
            vcpu.SetCpuid(CpuidSetup.ForVcpu(supportedCpuid, vcpu.Index, count));
            VcpuInitialState.SetMsrs(vcpu, logger);
            if (vcpu.Index == 0)
            {
                VcpuInitialState.SetPvhEntry(vcpu, entry);
            }
        }, endVm, lastOut, logger);

    /// <summary>Creates <paramref name="count"/> vCPUs, each set up by <paramref name="setUp"/>; none is left open if one fails.</summary>
    private static VcpuSet Create(KvmVm vm, GuestMemory memory, DeviceManager devices, int count, Action<KvmVcpu> setUp,
        Action<VmExitReason, VmFault?> endVm, Action lastOut, ILogger logger)
    {
        VcpuKicker.EnsureInstalled();
        var vcpus = new List<KvmVcpu>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var vcpu = vm.CreateVcpu(i);
                vcpus.Add(vcpu);
                setUp(vcpu);
            }
        }
        catch
        {
            vcpus.ForEach(v => v.Dispose());
            throw;
        }

        return new VcpuSet([.. vcpus], memory, devices, endVm, lastOut, logger);
    }

    /// <summary>
    /// Starts the halt watchdog and one thread per vCPU. When the host refuses a thread, the VM fails, the vCPUs already
    /// running leave the guest, those never started count as finished, and a <see cref="KvmException"/> is thrown.
    /// </summary>
    public void Start(string vmName)
    {
        // Before the threads: the last vCPU out disposes it, however soon that is.
        _haltWatchdog = new Timer(_ => CheckForHalt(), null, HaltCheckPeriod, HaltCheckPeriod);
        var started = 0;
        try
        {
            foreach (var runner in _runners)
            {
                runner.Start(vmName);
                started++;
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            _endVm(VmExitReason.Fault, new VmFault(started, "host error", null, 0, [], $"vCPU {started}: the host could not start its thread: {e.Message}"));
            for (var i = started; i < _runners.Length; i++)
            {
                ((IVcpuHost)this).VcpuFinished(_runners[i]);
            }

            throw new Host.HostResourceException(Host.HostResource.Threads, "start vCPU thread", Interop.Libc.EAGAIN, e.Message);
        }
    }

    /// <summary>Makes every vCPU thread leave the guest for good (also those not started yet).</summary>
    public void RequestStop()
    {
        foreach (var runner in _runners)
        {
            runner.RequestStop();
        }
    }

    /// <summary>Exits to this process handled by all vCPUs so far.</summary>
    public long Exits => _runners.Sum(runner => runner.Exits);

    /// <summary>Releases the vCPUs' descriptors and kvm_run pages: only once no thread is in KVM_RUN.</summary>
    public void Release()
    {
        _haltWatchdog?.Dispose();
        foreach (var vcpu in _vcpus)
        {
            vcpu.Dispose();
        }
    }

    bool IVcpuHost.EndVm(VmExitReason reason, VmFault? fault)
    {
        _endVm(reason, fault);
        return false;
    }

    void IVcpuHost.VcpuParked()
    {
        if (_runners.All(r => r.IsParked))
        {
            _endVm(VmExitReason.GuestHalt, null);
        }
    }

    void IVcpuHost.VcpuFinished(VcpuRunner runner)
    {
        if (Interlocked.Decrement(ref _live) > 0)
        {
            return;
        }

        // The last vCPU out: every thread has left KVM_RUN.
        _haltWatchdog?.Dispose();
        _lastOut();
    }

    private void CheckForHalt()
    {
        if (_paused)
        {
            return;
        }

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
}
