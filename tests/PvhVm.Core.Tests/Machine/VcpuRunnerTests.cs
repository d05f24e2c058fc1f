using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Boot;
using PvhVm.Core.Devices;
using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// One vCPU thread on the real /dev/kvm, with a recording host in place of the VM: requests that arrive before the
/// thread runs or after it has finished (and its kvm_run page is gone) are handled without touching the guest.
/// </summary>
public sealed class VcpuRunnerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void RequestsAfterTheLoopEndedAndTheVcpuWasReleasedAreHarmless()
    {
        using var guest = new RealModeGuest([0xF4]); // hlt
        guest.Runner.Start("finished");
        Assert.True(guest.Host.Finished.Wait(Bound));
        Assert.Equal(VmExitReason.GuestHalt, guest.Host.Reason);

        // The machine releases the vCPU (unmapping kvm_run) when the last one is out; a Stop racing the guest's own
        // exit then reaches this runner. It must not write to the unmapped page.
        guest.Vcpu.Dispose();
        guest.Runner.RequestStop();
        guest.Runner.RequestHaltCheck();
        Assert.Equal(1, guest.Host.FinishedCount);
    }

    [Fact]
    public void AStopRequestedBeforeTheThreadStartsKeepsItOutOfTheGuest()
    {
        using var guest = new RealModeGuest([0xEB, 0xFE]); // jmp $ : never exits by itself
        guest.Runner.RequestStop();
        guest.Runner.Start("stopped-early");
        Assert.True(guest.Host.Finished.Wait(Bound));
        Assert.Equal(0, guest.Runner.Exits);
        Assert.Null(guest.Host.Reason);
    }

    private sealed class RecordingHost : IVcpuHost
    {
        public ManualResetEventSlim Finished { get; } = new();

        public VmExitReason? Reason { get; private set; }

        public int FinishedCount { get; private set; }

        public bool EndVm(VmExitReason reason, VmFault? fault)
        {
            Reason ??= reason;
            return false;
        }

        public void VcpuParked()
        {
        }

        public void VcpuFinished(VcpuRunner runner)
        {
            FinishedCount++;
            Finished.Set();
        }
    }

    /// <summary>A VM with one page of real-mode code at 0x1000 and one vCPU about to run it.</summary>
    private sealed class RealModeGuest : IDisposable
    {
        private readonly KvmSystem _system = KvmSystem.Open();
        private readonly KvmVm _vm;
        private readonly GuestMemory _memory = GuestMemory.Allocate(1 << 20);

        public RealModeGuest(byte[] code)
        {
            _vm = _system.CreateVm();
            _vm.SetUserMemoryRegion(0, 0, _memory.RamSize, _memory.Regions[0].HostAddress);
            _memory.Write(0x1000, code);
            Vcpu = _vm.CreateVcpu(0);
            var sregs = Vcpu.GetSregs();
            sregs.Cs = sregs.Cs with { Base = 0, Selector = 0 };
            Vcpu.SetSregs(sregs);
            Vcpu.SetRegs(new KvmRegs { Rip = 0x1000, Rflags = 0x2 });
            VcpuKicker.EnsureInstalled();
            Runner = new VcpuRunner(Vcpu, _memory, new PortIoBus(NullLogger.Instance), new MmioBus(NullLogger.Instance), Host, NullLogger.Instance);
        }

        public RecordingHost Host { get; } = new();

        public KvmVcpu Vcpu { get; }

        public VcpuRunner Runner { get; }

        public void Dispose()
        {
            Vcpu.Dispose();
            _vm.Dispose();
            _system.Dispose();
            _memory.Dispose();
        }
    }
}
