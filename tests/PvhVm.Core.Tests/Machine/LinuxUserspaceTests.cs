using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// Linux to userspace: our test kernel (scripts/build-test-kernel.sh) runs its /init, which reports what the engine
/// passed and then powers off or reboots through ACPI. Each boot takes about 40 s on an emulating host, so the Test
/// suite has these two; more are in LinuxUserspaceSlowTests.
/// </summary>
public sealed class LinuxUserspaceTests(TestKernelFixture kernel, ITestOutputHelper output) : IClassFixture<TestKernelFixture>
{
    [Fact]
    public void InitReportsWhatTheEnginePassedAndPowerOffStopsTheVm()
    {
        var commandLine = TestKernelFixture.CommandLine("poweroff");
        var (vm, report) = TestKernelBoot.BootToExit(kernel, commandLine, cpus: 1, output);
        using (vm)
        {
            Assert.Equal(commandLine, report["cmdline"]);
            Assert.Equal(kernel.Marker, report["marker"]);
            Assert.Equal("1", report["cpus"]);
            Assert.Equal("ok", report["syscall6"]);
            Assert.Equal("1", report["int80_getpid"]);
            TestKernelBoot.AssertMemTotalFits(vm, long.Parse(report["memtotal_kb"]));
            Assert.Equal(VmExitReason.PowerOff, vm.ExitReason);
            Assert.Equal(VmState.Stopped, vm.State);
        }
    }

    [Fact]
    public void RebootFromInitEndsTheVmAsAGuestReset()
    {
        TestKernelBoot.AssertActionEndsTheVm(kernel, "reboot", VmExitReason.GuestReset, output);
    }
}
