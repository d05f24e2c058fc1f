using System.Diagnostics;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// More boots of the test kernel than the Test suite can afford (each about 40 s on an emulating host): the halt
/// action, and the same kernel and initramfs under QEMU microvm, a device model nobody here wrote, side by side.
/// </summary>
[Trait("Category", "Slow")]
public sealed class LinuxUserspaceSlowTests(TestKernelFixture kernel, ITestOutputHelper output) : IClassFixture<TestKernelFixture>
{
    [Fact]
    public void HaltFromInitEndsTheVmAsAGuestHalt()
    {
        TestKernelBoot.AssertActionEndsTheVm(kernel, "halt", VmExitReason.GuestHalt, output);
    }

    [Fact]
    public async Task QemuMicrovmBootsTheSameKernelToInitAndPowersOffThroughAcpi()
    {
        var qemu = HostTools.Require("qemu-system-x86_64");
        var commandLine = TestKernelFixture.CommandLine("poweroff");
        var start = new ProcessStartInfo(qemu) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in new[]
        {
            "-M", "microvm,accel=kvm", "-cpu", "host,-arch-capabilities", "-m", $"{TestKernelBoot.MemoryMB}", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
            "-kernel", kernel.VmlinuxPath, "-initrd", kernel.InitramfsPath, "-append", commandLine,
        })
        {
            start.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new System.Text.StringBuilder();
        TimeSpan? initReached = null;
        process.OutputDataReceived += (_, line) =>
        {
            lock (stdout)
            {
                if (initReached is null && line.Data?.StartsWith("pvhtest: init", StringComparison.Ordinal) == true)
                {
                    initReached = clock.Elapsed;
                }

                stdout.AppendLine(line.Data);
            }
        };
        process.BeginOutputReadLine();
        using (var timeout = new CancellationTokenSource(TestKernelBoot.BootBound))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        string console;
        lock (stdout)
        {
            console = stdout.ToString();
        }

        output.WriteLine($"QEMU: /init after {initReached?.TotalSeconds:F1} s, ended after {clock.Elapsed.TotalSeconds:F1} s with exit code {process.ExitCode}");
        Assert.True(process.ExitCode == 0, $"QEMU exited {process.ExitCode} ({await stderr}); console:\n{console}");
        Assert.Contains($"pvhtest: cmdline={commandLine}", console);
        Assert.Contains($"pvhtest: marker={kernel.Marker}", console);
        Assert.Contains("pvhtest: cpus=1", console);
        Assert.Contains("pvhtest: action=poweroff", console);
        Assert.Contains("reboot: Power down", console);
    }
}
