using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>The vCPU state a checkpoint saves and a restore sets, beyond the registers the boot path already uses.</summary>
internal sealed unsafe partial class KvmVcpu
{
    public void SetMpState(uint state) => Set(KvmIoctls.SetMpState, state, "KVM_SET_MP_STATE");

    public KvmFpu GetFpu() => Get<KvmFpu>(KvmIoctls.GetFpu, "KVM_GET_FPU");

    public void SetFpu(in KvmFpu fpu) => Set(KvmIoctls.SetFpu, fpu, "KVM_SET_FPU");

    public KvmXsave GetXsave() => Get<KvmXsave>(KvmIoctls.GetXsave, "KVM_GET_XSAVE");

    public void SetXsave(in KvmXsave xsave) => Set(KvmIoctls.SetXsave, xsave, "KVM_SET_XSAVE");

    public KvmXcrs GetXcrs() => Get<KvmXcrs>(KvmIoctls.GetXcrs, "KVM_GET_XCRS");

    public void SetXcrs(in KvmXcrs xcrs) => Set(KvmIoctls.SetXcrs, xcrs, "KVM_SET_XCRS");

    public KvmLapicState GetLapic() => Get<KvmLapicState>(KvmIoctls.GetLapic, "KVM_GET_LAPIC");

    public void SetLapic(in KvmLapicState lapic) => Set(KvmIoctls.SetLapic, lapic, "KVM_SET_LAPIC");

    public KvmVcpuEvents GetVcpuEvents() => Get<KvmVcpuEvents>(KvmIoctls.GetVcpuEvents, "KVM_GET_VCPU_EVENTS");

    public void SetVcpuEvents(in KvmVcpuEvents events) => Set(KvmIoctls.SetVcpuEvents, events, "KVM_SET_VCPU_EVENTS");

    public KvmDebugRegs GetDebugRegs() => Get<KvmDebugRegs>(KvmIoctls.GetDebugRegs, "KVM_GET_DEBUGREGS");

    public void SetDebugRegs(in KvmDebugRegs debugRegs) => Set(KvmIoctls.SetDebugRegs, debugRegs, "KVM_SET_DEBUGREGS");

    /// <summary>KVM_GET_MSRS for <paramref name="indices"/>; returns only the MSRs KVM read (it stops at the first it cannot).</summary>
    public KvmMsrEntry[] GetMsrs(ReadOnlySpan<uint> indices)
    {
        var entries = new KvmMsrEntry[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            entries[i] = new KvmMsrEntry(indices[i], 0);
        }

        var size = 8 + (entries.Length * sizeof(KvmMsrEntry));
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            *(uint*)buffer = (uint)entries.Length;
            entries.CopyTo(new Span<KvmMsrEntry>(buffer + 8, entries.Length));
            var read = _fd.Ioctl(KvmIoctls.GetMsrs, buffer, "KVM_GET_MSRS");
            return new ReadOnlySpan<KvmMsrEntry>(buffer + 8, Math.Min(read, entries.Length)).ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_GET_CPUID2: the CPUID table this vCPU was given.</summary>
    public KvmCpuidEntry2[] GetCpuid() => _fd.ReadCpuid(KvmIoctls.GetCpuid2, "KVM_GET_CPUID2");
}
