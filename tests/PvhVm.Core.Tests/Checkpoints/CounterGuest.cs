using System.Globalization;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>The counter guest's lines as numbers: "count N ms M" is (N, M).</summary>
internal static partial class CounterGuest
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static VirtualMachine Start(string name = "counter")
    {
        var vm = new VirtualMachine(new VmConfig(name, GuestImages.PathOf("counter"), MemoryMB: 16));
        vm.Start();
        return vm;
    }

    /// <summary>Waits until the guest has printed a count of at least <paramref name="count"/>.</summary>
    public static void WaitForCount(VirtualMachine vm, long count)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (LastCount(vm) < count)
        {
            Assert.True(DateTime.UtcNow < deadline && vm.State is VmState.Running, $"{vm.Name} got to count {LastCount(vm)}, not {count} ({vm.State}, {vm.ExitReason})");
            Thread.Sleep(10);
        }
    }

    private static long LastCount(VirtualMachine vm) =>
        vm.Console.Tail(1) is [var line] && Line().Match(line.Text) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;

    /// <summary>Every complete count line the VM printed, in order.</summary>
    public static List<(long Count, long Ms)> Counts(VirtualMachine vm) =>
        vm.Console.Snapshot().Select(line => Line().Match(line.Text)).Where(m => m.Success)
            .Select(m => (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>Asserts the counts go up by exactly one from line to line.</summary>
    public static void AssertConsecutive(IReadOnlyList<(long Count, long Ms)> counts, string what)
    {
        for (var i = 1; i < counts.Count; i++)
        {
            Assert.True(counts[i].Count == counts[i - 1].Count + 1, $"{what}: count {counts[i].Count} follows {counts[i - 1].Count} (line {i})");
        }
    }

    [GeneratedRegex("^count ([0-9]+) ms ([0-9]+)$")]
    private static partial Regex Line();
}
