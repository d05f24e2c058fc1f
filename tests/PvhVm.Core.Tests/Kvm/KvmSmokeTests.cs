using PvhVm.Core.Boot;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Tests.Kvm;

/// <summary>The ioctl wrapper against the real /dev/kvm: a few bytes of 32-bit code write to a port and halt.</summary>
public sealed unsafe class KvmSmokeTests
{
    [Fact]
    public void HostReportsApiVersionAndCapabilities()
    {
        var info = KvmHost.Probe();
        Assert.True(info.IsUsable, info.Problem);
        Assert.Equal(12, info.ApiVersion);
        Assert.True(info.Capabilities["Irqchip"] > 0);
        Assert.True(info.MaxVcpus >= 1);
    }

    [Fact]
    public void MissingDeviceIsReportedWithARemedy()
    {
        var info = KvmHost.Probe("/dev/no-such-kvm");
        Assert.False(info.IsUsable);
        Assert.Contains("does not exist", info.Problem);
        Assert.NotNull(info.Remedy);
        var error = Assert.Throws<KvmException>(() => KvmSystem.Open("/dev/no-such-kvm"));
        Assert.Equal(KvmException.ENOENT, error.Errno);
        Assert.True(error.IsHostUnavailable);
        Assert.False(new KvmException("KVM_CREATE_VM", 24).IsHostUnavailable);
        Assert.False(new KvmException("open /dev/kvm", 24).IsHostUnavailable);
    }

    [Fact]
    public void InKernelIrqchipPitAndIrqLinesCanBeCreatedAndDriven()
    {
        using var system = KvmSystem.Open();
        using var vm = system.CreateVm();
        Assert.Throws<KvmException>(() => vm.SetIrqLine(4, true));
        vm.CreateIrqchip();
        vm.CreatePit2();
        vm.SetIrqLine(4, true);
        vm.SetIrqLine(4, false);
        var error = Assert.Throws<KvmException>(() => vm.CreateIrqchip());
        Assert.Equal("KVM_CREATE_IRQCHIP", error.Operation);
        Assert.Contains("KVM_CREATE_IRQCHIP failed", error.Message);
    }

    [Fact]
    public void ProtectedModeCodeExitsOnPortWriteThenHalt()
    {
        using var system = KvmSystem.Open();
        using var vm = system.CreateVm();
        using var memory = GuestMemory.Allocate(1 << 20);
        vm.SetUserMemoryRegion(0, 0, memory.RamSize, memory.Regions[0].HostAddress);
        // mov dx,0x3f8; mov al,'A'; out dx,al; hlt
        memory.Write(0x1000, [0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE, 0xF4]);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.SetCpuid(system.GetSupportedCpuid());

        var sregs = vcpu.GetSregs();
        var code = new KvmSegment { Limit = 0xFFFFFFFF, Selector = 0x08, Type = 0xB, Present = 1, Db = 1, S = 1, G = 1 };
        var data = code with { Selector = 0x10, Type = 0x3 };
        (sregs.Cs, sregs.Ds, sregs.Es, sregs.Fs, sregs.Gs, sregs.Ss) = (code, data, data, data, data, data);
        sregs.Cr0 = 0x11;
        vcpu.SetSregs(sregs);
        vcpu.SetRegs(new KvmRegs { Rip = 0x1000, Rflags = 0x2 });

        Assert.True(vcpu.Run());
        Assert.Equal(KvmExitReasonCode.Io, vcpu.ExitReason);
        var run = vcpu.RunData;
        Assert.Equal(0x3f8, *(ushort*)(run + 34));
        Assert.Equal(1, run[32]);
        Assert.Equal((byte)'A', run[*(long*)(run + 40)]);

        Assert.True(vcpu.Run());
        Assert.Equal(KvmExitReasonCode.Hlt, vcpu.ExitReason);
        Assert.Equal(0x1008UL, vcpu.GetRegs().Rip);
    }
}
