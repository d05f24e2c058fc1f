using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using PvhVm.Core.Tests.Machine;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// The test kernel checkpointed after its /init's command reader says ready (tests/kernel/init.c, pvhtest.shell=1),
/// restored twice: each restored Linux answers a command typed on its console with its own reply.
/// </summary>
[Collection(TestKernelCollection.Name)]
public sealed class LinuxCheckpointTests(TestKernelFixture kernel, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(30);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"pvhvm-linux-ckpt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void TwoRestoredLinuxShellsEachAnswerTheirOwnCommand()
    {
        var config = new VmConfig("linux-shell", kernel.VmlinuxPath, kernel.InitramfsPath,
            TestKernelFixture.CommandLine("poweroff") + " pvhtest.shell=1", TestKernelBoot.MemoryMB, 1);
        var boot = Stopwatch.StartNew();
        using (var vm = new VirtualMachine(config))
        {
            vm.Start();
            WaitForLine(vm, "^pvhtest: ready$", TestKernelBoot.BootBound);
            output.WriteLine($"booted to the ready line in {boot.Elapsed.TotalSeconds:F1} s");
            Ask(vm, "echo before", "^pvhtest: echo=before$");
            Ask(vm, "sleep 300", "^pvhtest: slept=300$");
            foreach (var line in vm.Console.Snapshot().Where(l => Regex.IsMatch(l.Text, "clock|tsc|TSC|timer|APIC")))
            {
                output.WriteLine(line.Text);
            }
            vm.Suspend();
            vm.CreateCheckpoint(_folder);
            vm.Stop();
        }

        var clones = new[] { VirtualMachine.Restore(_folder, "linux-1"), VirtualMachine.Restore(_folder, "linux-2") };
        try
        {
            foreach (var clone in clones)
            {
                var restore = Stopwatch.StartNew();
                clone.Start();
                output.WriteLine($"{clone.Name} restored in {restore.Elapsed.TotalMilliseconds:F1} ms");
            }

            foreach (var clone in clones)
            {
                var asked = Stopwatch.StartNew();
                Ask(clone, $"echo from {clone.Name}", $"^pvhtest: echo=from {clone.Name}$");
                output.WriteLine($"{clone.Name} answered in {asked.Elapsed.TotalMilliseconds:F1} ms");
                Ask(clone, "uptime", "^pvhtest: uptime=");
                asked.Restart();
                Ask(clone, "sleep 300", "^pvhtest: slept=300$");
                output.WriteLine($"{clone.Name} slept 300 ms in {asked.Elapsed.TotalMilliseconds:F1} ms");
                Ask(clone, "uptime", "^pvhtest: uptime=");
            }
        }
        finally
        {
            foreach (var clone in clones)
            {
                output.WriteLine($"--- {clone.Name}: {clone.State} {clone.ExitReason} {clone.Fault}");
                foreach (var line in clone.Console.Snapshot())
                {
                    output.WriteLine($"{line.Elapsed.TotalSeconds,8:F3} {line.Text}");
                }

                clone.Dispose();
            }
        }
    }

    private static void Ask(VirtualMachine vm, string command, string answer)
    {
        var after = vm.Console.TotalLines - 1;
        vm.SendConsole(Encoding.UTF8.GetBytes(command + "\n"));
        WaitForLine(vm, answer, AnswerBound, after);
    }

    private static void WaitForLine(VirtualMachine vm, string pattern, TimeSpan bound, long after = -1)
    {
        var regex = new Regex(pattern);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < bound)
        {
            if (vm.Console.ReadAfter(after).Any(l => regex.IsMatch(l.Text)))
            {
                return;
            }

            vm.Console.WaitForLinesAfter(vm.Console.TotalLines - 1, TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }

        var console = string.Join('\n', vm.Console.Snapshot().Select(l => $"{l.Elapsed.TotalSeconds,8:F3} {l.Text}"));
        Assert.Fail($"{vm.Name} printed no line matching '{pattern}' within {bound} ({vm.State} {vm.ExitReason} {vm.Fault}); console:\n{console}");
    }
}
