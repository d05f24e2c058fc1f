using System.Diagnostics;
using PvhVm.Core.Machine;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Guests;

/// <summary>Hostile guests that need a while to show their effect (build.ps1 -Task SlowTest); alone, as the heap is measured.</summary>
[Collection(Host.SerialCollection.Name)]
[Trait("Category", "Slow")]
public sealed class HostileGuestSlowTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A guest printing without end for four ring-fulls of lines: the ring holds its capacity, the rest is counted
    /// as dropped, the managed heap after the ring first filled does not grow with the output, and the log can be
    /// read at once while the guest prints.
    /// </summary>
    [Fact]
    public void EndlessPrintingKeepsHostMemoryBounded()
    {
        using var vm = HostileGuestTests.StartAndWait("flood", "^line 100$");
        WaitForLines(vm, vm.Console.Capacity + 100);
        long heapWhenFull = HeapAfterCollection();
        WaitForLines(vm, 4L * vm.Console.Capacity);
        long heapLater = HeapAfterCollection();

        var clock = Stopwatch.StartNew();
        var held = vm.Console.Snapshot();
        clock.Stop();
        vm.Stop();
        output.WriteLine($"flood: {vm.Console.TotalLines} lines ({vm.Console.BytesReceived} bytes), {vm.Console.DroppedLines} dropped, "
            + $"in {vm.Uptime?.TotalSeconds:F1} s; heap {heapWhenFull / 1024} KiB when the ring filled, {heapLater / 1024} KiB at the end; snapshot {clock.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"reading the console took {clock.Elapsed}");
        Assert.Equal(vm.Console.Capacity, vm.Console.Count);
        Assert.Equal(vm.Console.TotalLines, vm.Console.DroppedLines + vm.Console.Count);
        Assert.All(held, l => Assert.Equal($"line {l.Sequence}", l.Text));
        // Three more ring-fulls of output (about 350 KiB) must not show up on the heap; 1 MiB of slack for the test host.
        Assert.True(heapLater - heapWhenFull < 1 << 20, $"heap grew from {heapWhenFull} to {heapLater} bytes");
    }

    private static void WaitForLines(VirtualMachine vm, long lines)
    {
        var clock = Stopwatch.StartNew();
        while (vm.Console.TotalLines < lines && clock.Elapsed < Bound)
        {
            Thread.Sleep(50);
        }

        Assert.True(vm.Console.TotalLines >= lines, $"only {vm.Console.TotalLines} lines after {Bound}");
    }

    private static long HeapAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
