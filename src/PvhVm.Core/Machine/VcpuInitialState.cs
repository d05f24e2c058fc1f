using Microsoft.Extensions.Logging;
using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>Puts a vCPU in the state the PVH ABI prescribes, and the MSRs a PC's firmware would leave.</summary>
internal static class VcpuInitialState
{
    private static readonly KvmMsrEntry[] BootMsrs =
    [
        new(0x1A0, 1),          // IA32_MISC_ENABLE: fast strings
        new(0x2FF, 0x806),      // IA32_MTRR_DEF_TYPE: MTRRs on, default write-back (uncached RAM would crawl)
        new(0x174, 0), new(0x175, 0), new(0x176, 0), // SYSENTER_CS/ESP/EIP
        new(0xC000_0081, 0), new(0xC000_0082, 0), new(0xC000_0083, 0), new(0xC000_0084, 0), // STAR, LSTAR, CSTAR, SFMASK
        new(0xC000_0102, 0),    // KERNEL_GS_BASE
        new(0x10, 0),           // TSC
    ];

    public static void SetMsrs(KvmVcpu vcpu, ILogger logger)
    {
        try
        {
            vcpu.SetMsrs(BootMsrs);
            return;
        }
        catch (KvmException)
        {
            // One was refused: set them one by one to learn which, and keep the rest.
        }

        foreach (var msr in BootMsrs)
        {
            try
            {
                vcpu.SetMsrs([msr]);
            }
            catch (KvmException e)
            {
                // A host that refuses one of these still boots; say which, once per vCPU.
                logger.LogDebug("vCPU {Index}: MSR 0x{Msr:x} not set: {Message}", vcpu.Index, msr.Index, e.Message);
            }
        }
    }

    public static void SetPvhEntry(KvmVcpu vcpu, CpuEntryState state)
    {
        var sregs = vcpu.GetSregs();
        sregs.Cs = ToKvm(state.Cs);
        sregs.Ds = ToKvm(state.Ds);
        sregs.Es = ToKvm(state.Es);
        sregs.Fs = ToKvm(state.Fs);
        sregs.Gs = ToKvm(state.Gs);
        sregs.Ss = ToKvm(state.Ss);
        sregs.Tr = ToKvm(state.Tr);
        sregs.Ldt = ToKvm(state.Ldt);
        sregs.Gdt = new KvmDtable { Base = state.GdtBase, Limit = state.GdtLimit };
        sregs.Idt = new KvmDtable { Base = state.IdtBase, Limit = state.IdtLimit };
        sregs.Cr0 = state.Cr0;
        sregs.Cr4 = state.Cr4;
        sregs.Efer = state.Efer;
        sregs.Cr3 = 0;
        vcpu.SetSregs(sregs);
        vcpu.SetRegs(new KvmRegs { Rip = state.Rip, Rbx = state.Rbx, Rflags = state.Rflags });
    }

    private static KvmSegment ToKvm(SegmentState s) => new()
    {
        Base = s.Base,
        Limit = s.Limit,
        Selector = s.Selector,
        Type = s.Type,
        Present = s.Present ? (byte)1 : (byte)0,
        Dpl = s.Dpl,
        Db = s.DefaultBig ? (byte)1 : (byte)0,
        S = s.CodeOrData ? (byte)1 : (byte)0,
        L = s.Long ? (byte)1 : (byte)0,
        G = s.Granularity ? (byte)1 : (byte)0,
        Unusable = s.Unusable ? (byte)1 : (byte)0,
    };
}
