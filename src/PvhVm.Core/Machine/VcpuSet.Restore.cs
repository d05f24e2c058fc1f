using Microsoft.Extensions.Logging;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Machine;

internal sealed partial class VcpuSet
{
    /// <summary>Creates one vCPU per saved state and sets it (CPUID, MSRs, registers, FPU, LAPIC, events) instead of the PVH entry.</summary>
    public static VcpuSet Restore(KvmVm vm, GuestMemory memory, DeviceManager devices, IReadOnlyList<VcpuSnapshot> snapshots,
        Action<VmExitReason, VmFault?> endVm, Action lastOut, ILogger logger)
        => Create(vm, memory, devices, snapshots.Count, vcpu => snapshots[vcpu.Index].ApplyTo(vcpu), endVm, lastOut, logger);
}
