using System.Diagnostics;
using System.Runtime.CompilerServices;
using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// Stop and Dispose from another thread at every stage of a start (loading a real kernel, creating many vCPUs) and
/// after the guest ended by itself: the host process survives, nothing throws that should not, the VM ends, and
/// nothing keeps a finished VM alive. A regression here crashes the test process rather than failing one test.
/// </summary>
public sealed class LifecycleRaceTests(DebianKernelFixture kernel, ITestOutputHelper output) : IClassFixture<DebianKernelFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void DisposeWhileTheKernelIsLoadingWaitsForTheLoader()
    {
        // Debian's vmlinux has tens of MiB of segments to copy into guest memory: a wide window for a Dispose.
        for (var delayMs = 0; delayMs < 40; delayMs += 4)
        {
            var vm = new VirtualMachine(new VmConfig($"load{delayMs}", kernel.VmlinuxPath, null, "console=ttyS0", 512, 1));
            var start = StartOnAThread(vm);
            SpinUntilStarting(vm);
            Thread.Sleep(delayMs);
            var stateAtDispose = vm.State;
            vm.Dispose();
            Assert.True(start.Join(Bound));
            Assert.Equal("returned", start.Outcome);
            Assert.True(vm.WaitForExit(TimeSpan.Zero), $"after {delayMs} ms ({stateAtDispose}): {vm.State}");
            Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
            Assert.Throws<ObjectDisposedException>(vm.Start);
            output.WriteLine($"{delayMs} ms: disposed while {stateAtDispose}, start said {start.Outcome}");
        }
    }

    [Fact]
    public void StopWhileManyVcpusAreBeingCreatedEndsTheVmCleanly()
    {
        // Enough vCPUs that creating them takes a while, few enough not to crowd the tests running beside this one.
        var cpus = Math.Min(64, KvmHost.Probe().MaxVcpus ?? 1);
        for (var round = 0; round < 3; round++)
        {
            using var vm = new VirtualMachine(new VmConfig($"many{round}", GuestImages.PathOf("spin"), MemoryMB: 64, ProcessorCount: cpus));
            var start = StartOnAThread(vm);
            SpinUntilStarting(vm);
            Thread.Sleep(round * 5);
            vm.Stop();
            Assert.True(start.Join(Bound));
            Assert.Equal("returned", start.Outcome);
            Assert.True(vm.WaitForExit(Bound), $"round {round}: {vm.State}");
            Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
            output.WriteLine($"round {round}: {cpus} vCPUs, start said {start.Outcome}");
        }
    }

    [Fact]
    public void AFinishedAndDisposedVmIsNotKeptAlive()
    {
        // The halt watchdog's timer roots its VM; it must be gone once the VM is, however fast the guest ended.
        var references = Enumerable.Range(0, 10).Select(RunToTheEndAndDispose).ToList();
        // The last vCPU thread of each VM may still be on its way out; give the collector until the bound.
        var clock = Stopwatch.StartNew();
        while (references.Any(r => r.IsAlive) && clock.Elapsed < Bound)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(100);
        }

        Assert.Equal(0, references.Count(r => r.IsAlive));
    }

    [Fact]
    public void AConsoleWaiterWokenByTheEndSeesTheVmEnded()
    {
        for (var round = 0; round < 20; round++)
        {
            using var vm = new VirtualMachine(new VmConfig($"end{round}", GuestImages.PathOf("triplefault"), MemoryMB: 16));
            vm.Start();
            while (vm.Console.WaitForLinesAfter(long.MaxValue - 1, Bound, CancellationToken.None))
            {
            }

            Assert.True(vm.Console.IsCompleted);
            Assert.Equal(VmState.Stopped, vm.State);
        }
    }

    [Fact]
    public void AnExitedHandlerThatThrowsEndsNeitherTheVmNorTheProcess()
    {
        using var handled = new ManualResetEventSlim();
        using var vm = new VirtualMachine(new VmConfig("throwing-handler", GuestImages.PathOf("triplefault"), MemoryMB: 16));
        vm.Exited += (_, _) =>
        {
            handled.Set();
            throw new InvalidOperationException("a subscriber's bug");
        };
        vm.Start();
        Assert.True(handled.Wait(Bound));
        Assert.True(vm.WaitForExit(Bound));
        Assert.Equal(VmExitReason.TripleFault, vm.ExitReason);
        Thread.Sleep(200); // the process would be gone by now had the exception escaped the vCPU thread
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RunToTheEndAndDispose(int index)
    {
        var vm = new VirtualMachine(new VmConfig($"gone{index}", GuestImages.PathOf("triplefault"), MemoryMB: 16));
        vm.Start();
        Assert.True(vm.WaitForExit(Bound));
        vm.Dispose();
        return new WeakReference(vm);
    }

    private static void SpinUntilStarting(VirtualMachine vm)
    {
        var clock = Stopwatch.StartNew();
        while (vm.State == VmState.Created && clock.Elapsed < Bound)
        {
            Thread.SpinWait(10);
        }
    }

    private static StartThread StartOnAThread(VirtualMachine vm)
    {
        var start = new StartThread(vm);
        start.Thread.Start();
        return start;
    }

    /// <summary>Start on its own thread; a Start cut short by Stop or Dispose may return or throw, never crash.</summary>
    private sealed class StartThread
    {
        public StartThread(VirtualMachine vm)
        {
            Thread = new Thread(() =>
            {
                try
                {
                    vm.Start();
                    Outcome = "returned";
                }
                catch (Exception e)
                {
                    Outcome = e.GetType().Name;
                }
            });
        }

        public Thread Thread { get; }

        public string Outcome { get; private set; } = "nothing";

        public bool Join(TimeSpan timeout) => Thread.Join(timeout);
    }
}
