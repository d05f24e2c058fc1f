using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Memory;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>The long host-fault runs (build.ps1 -Task SlowTest).</summary>
[Collection(SerialCollection.Name)]
[Trait("Category", "Slow")]
public sealed class HostSlowTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public void AThousandCyclesLeaveTheProcessFlat() => LeakTests.RunCycles(1000, output);

    /// <summary>Up to 300 sleeping VMs at once in this process: each one runs or is refused with a clean error.</summary>
    [Fact]
    public void ThreeHundredVmsAtOnceRunOrAreRefusedCleanly()
    {
        var before = ProcessResources.Now();
        var running = new List<VirtualMachine>();
        var refused = new List<string>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                var vm = new VirtualMachine(new VmConfig($"many{i}", GuestImages.PathOf("sleep"), MemoryMB: 4));
                try
                {
                    vm.Start();
                    running.Add(vm);
                }
                catch (PvhVm.Core.Host.HostResourceException e)
                {
                    refused.Add(e.Message);
                    vm.Dispose();
                }
            }

            var peak = ProcessResources.Now();
            Assert.All(running, vm => Assert.NotNull(vm.Console.WaitFor(new Regex("^sleeping$"), Bound)));
            Assert.All(running, vm => Assert.Equal(VmState.Running, vm.State));
            output.WriteLine($"{running.Count} running, {refused.Count} refused{(refused.Count > 0 ? $" ({refused[0]})" : "")}; before: {before}; with all running: {peak}");
        }
        finally
        {
            foreach (var vm in running)
            {
                vm.Stop();
                vm.Dispose();
            }
        }

        Assert.All(running, vm => Assert.Equal(VmState.Stopped, vm.State));
        var after = ProcessResources.Now();
        output.WriteLine($"after stopping them all: {after}");
        Assert.InRange(after.Descriptors - before.Descriptors, int.MinValue, 4);
    }
}
