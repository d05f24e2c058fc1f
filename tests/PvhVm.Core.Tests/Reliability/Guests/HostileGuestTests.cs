using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Guests;

/// <summary>
/// Guests that never end on their own (spinning without exits, printing, flooding port I/O or MMIO, sleeping
/// with interrupts on) and guests that poke outside their RAM: the host stays in control. Stop latencies are
/// measured and printed; the assertions are generous bounds against hangs, not speed checks.
/// </summary>
public sealed class HostileGuestTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    // Against hangs, not for speed: on a loaded two-core CI host a thread has been seen to wait 4 s for a core.
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    public static TheoryData<string, string> EndlessGuests => new()
    {
        { "spin", "^spinning$" },
        { "flood", "^line 100$" },
        { "ioflood", "^ioflood$" },
        { "mmioflood", "^mmioflood$" },
        { "sleep", "^sleeping$" },
    };

    [Theory]
    [MemberData(nameof(EndlessGuests))]
    public void StopEndsAGuestThatNeverEndsByItself(string guest, string ready)
    {
        var latencies = new List<double>();
        for (int round = 0; round < 3; round++)
        {
            using var vm = StartAndWait(guest, ready);
            Thread.Sleep(50);
            Assert.Equal(VmState.Running, vm.State);
            var clock = Stopwatch.StartNew();
            vm.Stop();
            clock.Stop();
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(VmState.Stopped, vm.State);
            Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
            Assert.True(clock.Elapsed < StopBound, $"{guest}: Stop took {clock.Elapsed}");
        }

        output.WriteLine($"{guest}: Stop latency {string.Join(", ", latencies.Select(l => $"{l:F2}"))} ms");
    }

    [Theory]
    [InlineData("spin", "^spinning$")]
    [InlineData("ioflood", "^ioflood$")]
    public void WaitForExitWithATimeoutReturnsOnTime(string guest, string ready)
    {
        using var vm = StartAndWait(guest, ready);
        var timeout = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        Assert.False(vm.WaitForExit(timeout));
        clock.Stop();
        output.WriteLine($"{guest}: WaitForExit(300 ms) returned after {clock.Elapsed.TotalMilliseconds:F1} ms");
        // The wait handle counts in scheduler ticks (4 ms here, 10 ms on some hosts), so it may return a tick early.
        Assert.InRange(clock.Elapsed, timeout - TimeSpan.FromMilliseconds(50), timeout + StopBound);
        Assert.Equal(VmState.Running, vm.State);

        clock.Restart();
        Assert.Null(vm.Console.WaitFor(new Regex("^never printed$"), timeout));
        Assert.InRange(clock.Elapsed, timeout - TimeSpan.FromMilliseconds(50), timeout + StopBound);
    }

    [Fact]
    public void WaitForExitReturnsAtOnceWhenCancelled()
    {
        using var vm = StartAndWait("spin", "^spinning$");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();
        Assert.False(vm.WaitForExit(Timeout.InfiniteTimeSpan, cancel.Token));
        Assert.True(clock.Elapsed < StopBound, $"cancelled wait took {clock.Elapsed}");
    }

    [Fact]
    public void WaitForConsoleWithoutATimeoutWaitsUntilCancelled()
    {
        using var vm = StartAndWait("spin", "^spinning$");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        Assert.Null(vm.Console.WaitFor(new Regex("^never printed$"), Timeout.InfiniteTimeSpan, cancel.Token));
        Assert.True(cancel.IsCancellationRequested, $"returned after {clock.Elapsed.TotalMilliseconds:F1} ms, before the cancellation");
        Assert.Equal(VmState.Running, vm.State);
    }

    [Fact]
    public void PortFloodIsCountedButLoggedOnlyAFewTimes()
    {
        var logger = new CountingLogger();
        using var vm = StartAndWait("ioflood", "^ioflood$", logger);
        var deadline = Stopwatch.StartNew();
        while (vm.UnhandledPortAccesses < 5000 && deadline.Elapsed < Bound)
        {
            Thread.Sleep(20);
        }

        vm.Stop();
        output.WriteLine($"ioflood: {vm.UnhandledPortAccesses} unclaimed port reads in {vm.Uptime?.TotalMilliseconds:F0} ms");
        Assert.True(vm.UnhandledPortAccesses >= 5000);
        Assert.InRange(logger.Messages.Count(m => m.Contains("0x02f0", StringComparison.Ordinal)), 1, 4);
    }

    [Fact]
    public void WritesOutsideRamVanishAndReadBackAllOnes()
    {
        var logger = new CountingLogger();
        using var vm = StartAndWait("mmioflood", "^mmioflood$", logger);
        var deadline = Stopwatch.StartNew();
        while (vm.UnhandledMmioAccesses < 5000 && deadline.Elapsed < Bound)
        {
            Thread.Sleep(20);
        }

        vm.Stop();
        var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
        Assert.Equal(["wild 0xb0000000=0xffffffff", "wild 0xd0000000=0xffffffff", "wild 0xfffffffc=0xffffffff", "mmioflood"], lines);
        Assert.True(vm.UnhandledMmioAccesses >= 5000);
        Assert.InRange(logger.Messages.Count(m => m.Contains("unhandled MMIO", StringComparison.Ordinal)), 1, 16);
        output.WriteLine($"mmioflood: {vm.UnhandledMmioAccesses} unhandled MMIO accesses in {vm.Uptime?.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void StopFromManyThreadsAtOnceEndsTheVmOnce()
    {
        using var vm = StartAndWait("spin", "^spinning$");
        var stoppers = Enumerable.Range(0, 8).Select(_ => new Thread(vm.Stop)).ToList();
        stoppers.ForEach(t => t.Start());
        Assert.All(stoppers, t => Assert.True(t.Join(StopBound)));
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
    }

    [Fact]
    public void StopDuringStartStillEndsTheVm()
    {
        for (int round = 0; round < 10; round++)
        {
            using var vm = new VirtualMachine(new VmConfig($"race{round}", GuestImages.PathOf("spin"), MemoryMB: 64));
            var starter = new Thread(vm.Start);
            starter.Start();
            while (vm.State == VmState.Created)
            {
                Thread.SpinWait(10);
            }

            vm.Stop();
            Assert.True(starter.Join(Bound));
            Assert.True(vm.WaitForExit(StopBound), $"round {round}: the VM still runs ({vm.State}) after Stop during Start");
            Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
        }
    }

    internal static VirtualMachine StartAndWait(string guest, string ready, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var vm = new VirtualMachine(new VmConfig(guest, GuestImages.PathOf(guest), MemoryMB: 64), logger);
        vm.Start();
        Assert.True(vm.Console.WaitFor(new Regex(ready), Bound) is not null, $"{guest}: no '{ready}' ({vm.State} {vm.ExitReason} {vm.Fault})");
        return vm;
    }
}
