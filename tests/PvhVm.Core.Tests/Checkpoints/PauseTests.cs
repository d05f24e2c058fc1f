using PvhVm.Core.Machine;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>Suspend and Resume on the counter guest: the guest stops printing, then goes on where it was, its clock held.</summary>
public sealed class PauseTests(ITestOutputHelper output)
{
    [Fact]
    public void PausedGuestPrintsNothingAndResumesWithTheNextCount()
    {
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 100);
        vm.Suspend();
        Assert.Equal(VmState.Paused, vm.State);
        var atPause = vm.Console.TotalLines;
        Thread.Sleep(300);
        Assert.Equal(atPause, vm.Console.TotalLines);

        vm.Resume();
        Assert.Equal(VmState.Running, vm.State);
        CounterGuest.WaitForCount(vm, 10_000);
        vm.Stop();
        var counts = CounterGuest.Counts(vm);
        CounterGuest.AssertConsecutive(counts, "across the pause");
        Assert.True(counts[^1].Count >= 10_000);
    }

    [Fact]
    public void GuestClockDoesNotJumpByThePause()
    {
        var pause = TimeSpan.FromSeconds(3);
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 1000);
        vm.Suspend();
        var before = CounterGuest.Counts(vm);
        Thread.Sleep(pause);
        vm.Resume();
        CounterGuest.WaitForCount(vm, 2000);
        vm.Stop();
        var after = CounterGuest.Counts(vm);
        var last = before[^1];
        var next = after.Single(c => c.Count == last.Count + 1);
        var steps = after.Zip(after.Skip(1), (a, b) => b.Ms - a.Ms).ToList();
        output.WriteLine($"count {last.Count} at {last.Ms} ms, count {next.Count} at {next.Ms} ms after a {pause.TotalMilliseconds} ms pause; largest step elsewhere {steps.Max()} ms");
        // The clock is read, not constant: it moved while the guest ran before the pause.
        Assert.True(last.Ms > before[0].Ms, $"the guest's clock stood at {last.Ms} ms over {before.Count} counts");
        // The step across the pause is a guest step like any other, not the pause: well under it (half of it leaves room for
        // a second-long stall of the vCPU thread on a loaded host, seen here as a 1025 ms step away from the pause too).
        Assert.True(next.Ms - last.Ms < pause.TotalMilliseconds / 2, $"the guest's clock moved {next.Ms - last.Ms} ms across a {pause.TotalMilliseconds} ms pause");
    }

    [Fact]
    public void StopWhilePausedEndsTheVm()
    {
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 10);
        vm.Suspend();
        vm.Stop();
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
    }

    [Fact]
    public void SuspendNeedsARunningVmAndResumeAPausedOne()
    {
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 10);
        Assert.Throws<InvalidOperationException>(vm.Resume);
        vm.Suspend();
        Assert.Throws<InvalidOperationException>(vm.Suspend);
        vm.Resume();
        vm.Stop();
        Assert.Throws<InvalidOperationException>(vm.Suspend);
    }
}
