using PvhVm.Core.Kvm;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Kvm;

/// <summary>
/// A VM on the real /dev/kvm with 1 MiB of RAM, <c>code</c> at 0x1000 and one vCPU about to run it, in real mode or in
/// flat 32-bit protected mode (CPUID set, 4 GiB code and data segments).
/// </summary>
internal sealed class BareGuest : IDisposable
{
    private readonly KvmSystem _system = KvmSystem.Open();
    private readonly KvmVm _vm;

    public BareGuest(byte[] code, bool protectedMode)
    {
        _vm = _system.CreateVm();
        _vm.SetUserMemoryRegion(0, 0, Memory.RamSize, Memory.Regions[0].HostAddress);
        Memory.Write(0x1000, code);
        Vcpu = _vm.CreateVcpu(0);
        var sregs = Vcpu.GetSregs();
        if (protectedMode)
        {
            Vcpu.SetCpuid(_system.GetSupportedCpuid());
            var codeSegment = new KvmSegment { Limit = 0xFFFFFFFF, Selector = 0x08, Type = 0xB, Present = 1, Db = 1, S = 1, G = 1 };
            var data = codeSegment with { Selector = 0x10, Type = 0x3 };
            (sregs.Cs, sregs.Ds, sregs.Es, sregs.Fs, sregs.Gs, sregs.Ss) = (codeSegment, data, data, data, data, data);
            sregs.Cr0 = 0x11;
        }
        else
        {
            sregs.Cs = sregs.Cs with { Base = 0, Selector = 0 };
        }

        Vcpu.SetSregs(sregs);
        Vcpu.SetRegs(new KvmRegs { Rip = 0x1000, Rflags = 0x2 });
    }

    public GuestMemory Memory { get; } = GuestMemory.Allocate(1 << 20);

    public KvmVcpu Vcpu { get; }

    public void Dispose()
    {
        Vcpu.Dispose();
        _vm.Dispose();
        _system.Dispose();
        Memory.Dispose();
    }
}
