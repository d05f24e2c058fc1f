using PvhVm.Core.Kvm;

namespace PvhVm.Core.Tests.Kvm;

/// <summary>The ioctl wrapper against the real /dev/kvm: a few bytes of 32-bit code write to a port and halt.</summary>
public sealed class KvmSmokeTests
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
        // mov dx,0x3f8; mov al,'A'; out dx,al; hlt
        using var guest = new BareGuest([0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE, 0xF4], protectedMode: true);

        var exit = guest.Vcpu.Run();
        Assert.Equal(VcpuExitKind.IoOut, exit.Kind);
        Assert.Equal(KvmExitReasonCode.Io, exit.Reason);
        Assert.Equal(0x3f8, exit.Port);
        Assert.Equal(1, exit.AccessSize);
        Assert.Equal("A"u8.ToArray(), exit.Data.ToArray());

        exit = guest.Vcpu.Run();
        Assert.Equal(VcpuExitKind.Halt, exit.Kind);
        Assert.Equal(0x1008UL, guest.Vcpu.GetRegs().Rip);
    }

    [Fact]
    public void AnswersWrittenIntoInAndMmioReadExitsReachTheGuest()
    {
        // mov dx,0x60; in al,dx; mov bl,al; mov eax,[0xd0000000]; mov dx,0x3f8; out dx,al; mov al,bl; out dx,al; hlt
        using var guest = new BareGuest([0x66, 0xBA, 0x60, 0x00, 0xEC, 0x88, 0xC3, 0xA1, 0x00, 0x00, 0x00, 0xD0,
            0x66, 0xBA, 0xF8, 0x03, 0xEE, 0x88, 0xD8, 0xEE, 0xF4], protectedMode: true);

        var exit = guest.Vcpu.Run();
        Assert.Equal((VcpuExitKind.IoIn, (ushort)0x60, 1), (exit.Kind, exit.Port, exit.Data.Length));
        exit.Data[0] = 0x5A;

        exit = guest.Vcpu.Run();
        Assert.Equal((VcpuExitKind.MmioRead, 0xD000_0000UL, 4), (exit.Kind, exit.Address, exit.Data.Length));
        exit.Data.Fill(0x33);

        Assert.Equal(0x33, Assert.Single(OutByte(guest.Vcpu)));
        Assert.Equal(0x5A, Assert.Single(OutByte(guest.Vcpu)));
        Assert.Equal(VcpuExitKind.Halt, guest.Vcpu.Run().Kind);
    }

    private static byte[] OutByte(KvmVcpu vcpu)
    {
        var exit = vcpu.Run();
        Assert.Equal(VcpuExitKind.IoOut, exit.Kind);
        return exit.Data.ToArray();
    }
}
