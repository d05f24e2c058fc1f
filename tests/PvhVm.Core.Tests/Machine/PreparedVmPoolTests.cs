using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;
using PvhVm.Core.Tests.Reliability.Host;

namespace PvhVm.Core.Tests.Machine;

/// (Serial: the pool is one per process; a parallel test taking from it would take the VM these tests watch.)
[Collection(SerialCollection.Name)]
public sealed class PreparedVmPoolTests
{
    private const ulong MiB = 1 << 20;

    // A size no other test uses, so what the pool holds is known to come from these tests.
    private const int PoolTestMemoryMB = 24;
    private const ulong PoolTestSize = PoolTestMemoryMB * MiB;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void EveryTakeHandsOutAVmOfTheAskedSizeThatNoOneElseHolds()
    {
        var taken = new List<PreparedVm>();
        try
        {
            foreach (var size in new[] { 32 * MiB, 32 * MiB, 48 * MiB, 32 * MiB })
            {
                var vm = PreparedVmPool.Take(size);
                Assert.Equal(size, vm.Memory.RamSize);
                Assert.DoesNotContain(taken, t => ReferenceEquals(t, vm) || t.Memory.Regions[0].HostAddress == vm.Memory.Regions[0].HostAddress);
                Assert.True(vm.Memory.GetSpan(0, (int)MiB).IndexOfAnyExcept((byte)0) < 0, "a prepared VM's RAM must be untouched");
                taken.Add(vm);
                // Dirty it as a guest would: the pool must never hand this memory out again.
                vm.Memory.GetSpan(0, (int)MiB).Fill(0xCC);
                Thread.Sleep(50);
            }
        }
        finally
        {
            taken.ForEach(vm => vm.Dispose());
        }
    }

    [Fact]
    public void TheVmPreparedInTheBackgroundIsTheOneTheNextTakeHandsOut()
    {
        var ready = FillPool(PoolTestSize);
        using var taken = PreparedVmPool.Take(PoolTestSize);
        Assert.Same(ready, taken);
        Assert.NotSame(ready, PreparedVmPool.Ready);
    }

    [Fact]
    public void AStartingVmRunsItsGuestInThePreparedVmFromThePool()
    {
        var guest = GuestImages.PathOf("sleep");
        var ready = FillPool(PoolTestSize);
        using var vm = new VirtualMachine(new VmConfig("pooled", guest, MemoryMB: PoolTestMemoryMB));
        vm.Start();
        try
        {
            Assert.NotNull(vm.Console.WaitFor(new Regex("^sleeping$"), Bound));
            Assert.NotSame(ready, PreparedVmPool.Ready);

            // The guest's code sits in the prepared VM's RAM (mapped as long as the VM runs): that is the VM it runs in.
            var segment = KernelInspector.Inspect(guest).Segments.First(s => s.TypeCode == ElfSegment.PtLoad);
            var expected = File.ReadAllBytes(guest).AsSpan((int)segment.Offset, (int)segment.FileSize);
            Assert.True(ready.Memory.GetSpan(segment.PhysicalAddress, expected.Length).SequenceEqual(expected),
                "the guest's kernel is not in the RAM of the VM the pool had prepared");
        }
        finally
        {
            vm.Stop();
        }
    }

    /// <summary>Makes the pool prepare a VM of <paramref name="size"/> in the background and returns it once ready.</summary>
    private static PreparedVm FillPool(ulong size)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // A take starts the refill with its size, unless a refill of another size is still running: then the
            // loop takes again once that one is ready, which discards it as stale and refills with this size.
            PreparedVmPool.Take(size).Dispose();
            PreparedVm? ready;
            while ((ready = PreparedVmPool.Ready) is null)
            {
                Assert.True(clock.Elapsed < Bound, "the pool prepared no VM in the background");
                Thread.Sleep(5);
            }

            if (ready.Memory.RamSize == size)
            {
                return ready;
            }
        }
    }
}
