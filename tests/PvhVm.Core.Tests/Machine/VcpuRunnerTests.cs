using Microsoft.Extensions.Logging.Abstractions;
using PvhVm.Core.Devices;
using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kvm;

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

    /// <summary>A VM with one page of real-mode code at 0x1000 and a runner for its one vCPU.</summary>
    private sealed class RealModeGuest : IDisposable
    {
        private readonly BareGuest _guest;

        public RealModeGuest(byte[] code)
        {
            _guest = new BareGuest(code, protectedMode: false);
            VcpuKicker.EnsureInstalled();
            Runner = new VcpuRunner(Vcpu, _guest.Memory, new PortIoBus(NullLogger.Instance), new MmioBus(NullLogger.Instance), Host, NullLogger.Instance);
        }

        public RecordingHost Host { get; } = new();

        public KvmVcpu Vcpu => _guest.Vcpu;

        public VcpuRunner Runner { get; }

        public void Dispose() => _guest.Dispose();
    }
}
