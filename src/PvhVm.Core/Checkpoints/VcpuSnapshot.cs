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
    /// Sets the state on a fresh vCPU in the order KVM needs (Firecracker's): CPUID first (MSRs and XSAVE are checked
    /// against it) and the MP state; registers before the events (KVM_SET_REGS clears a pending exception the events
    /// bring back), special registers before the LAPIC (they carry the APIC base), and the LAPIC before the MSRs: KVM
    /// takes the TSC_DEADLINE MSR only while the LAPIC timer is in TSC-deadline mode, and drops it otherwise, which
    /// left a restored Linux without its next timer tick.
    /// </summary>
    public void ApplyTo(KvmVcpu vcpu)
    {
        vcpu.SetCpuid(Cpuid);
        vcpu.SetMpState(MpState);
        vcpu.SetRegs(Regs);
        vcpu.SetSregs(Sregs);
        vcpu.SetFpu(Fpu);
        vcpu.SetXsave(Xsave);
        vcpu.SetXcrs(Xcrs);
        vcpu.SetDebugRegs(DebugRegs);
        vcpu.SetLapic(Lapic);
        vcpu.SetMsrs(Msrs);
        vcpu.SetVcpuEvents(Events);
    }
}
