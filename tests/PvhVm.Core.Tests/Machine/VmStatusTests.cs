using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// A VM's state and exit reason change in one step: no reader ever sees a Running (or Starting) VM with an exit
/// reason, or an ended one without. Found by hand: right after a probe's reset, Get-PvhVm showed State Running with
/// ExitReason GuestReset; and a Stop during Start left a VM Running with ExitReason Stopped until its vCPUs were out.
/// </summary>
public sealed class VmStatusTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryObservedStatusPairsTheStateWithItsExitReason(bool stopDuringStart)
    {
        var reasons = new List<VmExitReason?>();
        for (var round = 0; round < 10; round++)
        {
            using var vm = new VirtualMachine(new VmConfig($"status-{round}", GuestImages.PathOf("probe"), MemoryMB: 64));
            var seen = new List<VmStatus> { vm.Status };
            Exception? startError = null;
            var start = new Thread(() =>
            {
                try
                {
                    vm.Start();
                }
                catch (Exception e)
                {
                    startError = e;
                }
            });
            start.Start();
            Thread? stop = null;
            if (stopDuringStart)
            {
                while (vm.State == VmState.Created)
                {
                    Thread.Yield();
                }

                // From another thread: Stop blocks until the VM is out, and the window to watch is while it is not.
                stop = new Thread(vm.Stop);
                stop.Start();
            }

            while (!vm.WaitForExit(TimeSpan.Zero))
            {
                seen.Add(vm.Status);
            }

            Assert.True(start.Join(Bound));
            Assert.True(stop?.Join(Bound) ?? true);
            Assert.Null(startError);
            seen.Add(vm.Status);
            Assert.All(seen, s => Assert.True(s.State.IsActive() && s.State != VmState.Stopping
                ? s.ExitReason is null : s.State == VmState.Created || s.ExitReason is not null, $"{s.State} with ExitReason {s.ExitReason}"));
            var last = seen[^1];
            Assert.Equal(VmState.Stopped, last.State);
            Assert.Equal((last.State, last.ExitReason), (vm.State, vm.ExitReason));
            reasons.Add(last.ExitReason);
        }

        // A Stop right behind Start almost always wins over the probe's own reset; a loaded host may let the probe finish first.
        VmExitReason?[] allowed = stopDuringStart ? [VmExitReason.Stopped, VmExitReason.GuestReset] : [VmExitReason.GuestReset];
        Assert.All(reasons, r => Assert.Contains(r, allowed));
        Assert.Contains(stopDuringStart ? VmExitReason.Stopped : VmExitReason.GuestReset, reasons);
    }
}
