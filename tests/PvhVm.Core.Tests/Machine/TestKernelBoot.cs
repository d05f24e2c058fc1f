using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>Boots the test kernel (<see cref="TestKernelFixture"/>) under PvhVm and reads its /init's report.</summary>
internal static class TestKernelBoot
{
    public const int MemoryMB = 128;
    public static readonly TimeSpan BootBound = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Boots the test kernel to its end and returns the VM with /init's "pvhtest: key=value" report. Fails with the
    /// console when the VM does not end, or /init did not finish its report.
    /// </summary>
    /// <param name="configure">Adds to the VM's configuration (disks, entropy) before it is created.</param>
    /// <param name="whileRunning">Talks to the running VM (its network, its vsock) before the wait for its end.</param>
    public static (VirtualMachine Vm, Dictionary<string, string> Report) BootToExit(TestKernelFixture kernel, string commandLine, int cpus,
        ITestOutputHelper output, Func<VmConfig, VmConfig>? configure = null, Action<VirtualMachine>? whileRunning = null)
    {
        var config = new VmConfig("linux-userspace", kernel.VmlinuxPath, kernel.InitramfsPath, commandLine, MemoryMB, cpus);
        var vm = new VirtualMachine(configure?.Invoke(config) ?? config);
        try
        {
            vm.Start();
            whileRunning?.Invoke(vm);
            var init = vm.Console.WaitFor(new Regex("^pvhtest: init pid=1$"), BootBound);
            var ended = vm.WaitForExit(BootBound);
            var lines = vm.Console.Snapshot();
            var console = string.Join('\n', lines.Select(l => $"{l.Elapsed.TotalSeconds,8:F3} {l.Text}"));
            Assert.True(init is not null, $"/init never ran ({vm.ExitReason} {vm.Fault}); console:\n{console}");
            Assert.True(ended, $"the VM did not end within {BootBound}; console:\n{console}");
            output.WriteLine($"/init after {init!.Elapsed.TotalSeconds:F1} s, VM ended after {vm.Uptime?.TotalSeconds:F1} s: {vm.ExitReason}");
            var report = lines.Select(l => Regex.Match(l.Text, "^pvhtest: ([a-z0-9_]+)=(.*)$")).Where(m => m.Success)
                .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.Last().Groups[2].Value);
            Assert.True(report.ContainsKey("action"), $"/init did not reach its action; console:\n{console}");
            return (vm, report);
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>Boots with /init's <paramref name="action"/> and checks that the VM ended Stopped with <paramref name="expected"/>.</summary>
    public static void AssertActionEndsTheVm(TestKernelFixture kernel, string action, VmExitReason expected, ITestOutputHelper output)
    {
        var (vm, report) = BootToExit(kernel, TestKernelFixture.CommandLine(action), cpus: 1, output);
        using (vm)
        {
            Assert.Equal(action, report["action"]);
            Assert.Equal(expected, vm.ExitReason);
            Assert.Equal(VmState.Stopped, vm.State);
        }
    }

    /// <summary>MemTotal is the RAM we mapped as usable less what the kernel keeps (its image, page tables, memmap).</summary>
    public static void AssertMemTotalFits(VirtualMachine vm, long memTotalKb)
    {
        var usableKb = (long)(vm.E820Map.Where(e => e.Type == E820Type.Ram).Aggregate(0ul, (sum, e) => sum + e.Size) >> 10);
        Assert.InRange(memTotalKb, usableKb - 24 * 1024, usableKb);
        Assert.True(usableKb > (MemoryMB - 2) * 1024, $"the e820 map has only {usableKb} KiB usable of {MemoryMB} MiB");
    }
}
