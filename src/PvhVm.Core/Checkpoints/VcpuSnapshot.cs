using PvhVm.Core.Kvm;

namespace PvhVm.Core.Checkpoints;

/// <summary>Everything KVM holds for one vCPU, read while its thread is out of the guest.</summary>
internal sealed class VcpuSnapshot
{
    public required int Index { get; init; }

    public required uint MpState { get; init; }

    public required KvmRegs Regs { get; init; }

    public required KvmSregs Sregs { get; init; }

    public required KvmFpu Fpu { get; init; }

    public required KvmXsave Xsave { get; init; }

    public required KvmXcrs Xcrs { get; init; }

    public required KvmLapicState Lapic { get; init; }

    public required KvmVcpuEvents Events { get; init; }

    public required KvmDebugRegs DebugRegs { get; init; }

    public required KvmMsrEntry[] Msrs { get; init; }

    public required KvmCpuidEntry2[] Cpuid { get; init; }

    public static VcpuSnapshot Capture(KvmVcpu vcpu, ReadOnlySpan<uint> msrIndices) => new()
    {
        Index = vcpu.Index,
        MpState = vcpu.GetMpState(),
        Regs = vcpu.GetRegs(),
        Sregs = vcpu.GetSregs(),
        Fpu = vcpu.GetFpu(),
        Xsave = vcpu.GetXsave(),
        Xcrs = vcpu.GetXcrs(),
        Lapic = vcpu.GetLapic(),
        Events = vcpu.GetVcpuEvents(),
        DebugRegs = vcpu.GetDebugRegs(),
        Msrs = vcpu.GetMsrs(msrIndices),
        Cpuid = vcpu.GetCpuid(),
    };

    /// <summary>
    /// Sets the state on a fresh vCPU in the order KVM needs (Firecracker's and QEMU's): CPUID first (MSRs and XSAVE
    /// are checked against it), then MSRs, registers, FPU/XSAVE, the LAPIC, and last the MP state and pending events.
    /// </summary>
    public void ApplyTo(KvmVcpu vcpu)
    {
        vcpu.SetCpuid(Cpuid);
        vcpu.SetMsrs(Msrs);
        vcpu.SetRegs(Regs);
        vcpu.SetSregs(Sregs);
        vcpu.SetFpu(Fpu);
        vcpu.SetXsave(Xsave);
        vcpu.SetXcrs(Xcrs);
        vcpu.SetDebugRegs(DebugRegs);
        vcpu.SetLapic(Lapic);
        vcpu.SetMpState(MpState);
        vcpu.SetVcpuEvents(Events);
    }
}
