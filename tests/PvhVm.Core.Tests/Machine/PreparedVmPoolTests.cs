using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests.Machine;

public sealed class PreparedVmPoolTests
{
    private const ulong MiB = 1 << 20;

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
}
