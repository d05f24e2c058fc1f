using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Devices;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Machine;

/// <summary>Each probe guest on the real /dev/kvm: ACPI, SMP, console input, and every way a VM can end.</summary>
public sealed class GuestBehaviourTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void AcpiGuestFindsOneLocalApicPerVcpuInTheMadt(int cpus)
    {
        var lines = RunToExit("acpi", cpus);
        Assert.Equal(Enumerable.Range(0, cpus).Select(i => $"cpu apic_id={i} flags=1"), lines.Where(l => l.StartsWith("cpu apic_id", StringComparison.Ordinal)));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^ioapic id=\d+ addr=0xfec00000 gsi_base=0$"));
        Assert.Contains(lines, l => l.StartsWith("table APIC", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("table FACP", StringComparison.Ordinal));
        Assert.Equal("acpi done", lines[^1]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ApplicationProcessorsComeOnlineThroughTheInKernelLapic(int cpus)
    {
        var lines = RunToExit("smp", cpus);
        Assert.Equal(Enumerable.Range(0, cpus).Select(i => $"cpu {i} online"), lines.Where(l => l.EndsWith(" online", StringComparison.Ordinal)).Order());
        Assert.Equal($"smp done cpus={cpus}", lines[^1]);
    }

    [Fact]
    public void GuestPowersOffThroughTheFadtSleepControlRegister()
    {
        using var vm = Start("poweroff");
        Assert.True(vm.WaitForExit(Bound), "poweroff did not exit");
        var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
        Assert.True(vm.ExitReason == VmExitReason.PowerOff, $"ended {vm.ExitReason} {vm.Fault}; output:\n{string.Join('\n', lines)}");
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal([$"poweroff sleep control port 0x{AcpiPowerDevice.SleepControlPort:x4}"], lines);
    }

    [Fact]
    public void Elf32ProbeBootsToo()
    {
        var lines = RunToExit("probe32", 1);
        Assert.Contains("magic=0x336ec578 version=1 flags=0x00000000", lines);
        Assert.Equal("probe done", lines[^1]);
    }

    [Fact]
    public void EchoGuestReadsWhatTheHostTypes()
    {
        using var vm = Start("echo");
        Assert.NotNull(vm.Console.WaitFor(new Regex("^echo ready$"), Bound));
        Assert.Equal(12, vm.SendConsole("hello there\n"u8));
        Assert.NotNull(vm.Console.WaitFor(new Regex("^hello there$"), Bound));
        vm.SendConsole("exit\n"u8);
        Assert.True(vm.WaitForExit(Bound));
        Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        Assert.Equal("echo bye", vm.Console.Snapshot()[^1].Text);
    }

    [Fact]
    public void SpinningGuestIsForceStoppedPromptly()
    {
        using var vm = Start("spin");
        Assert.NotNull(vm.Console.WaitFor(new Regex("^spinning$"), Bound));
        Thread.Sleep(100);
        Assert.Equal(VmState.Running, vm.State);
        var clock = Stopwatch.StartNew();
        vm.Stop();
        clock.Stop();
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
        // A bound against a hang, far above the ~100 ms target the benchmark tracks.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Stop took {clock.Elapsed}.");
    }

    [Fact]
    public void TripleFaultIsReportedAsSuch()
    {
        var lines = RunToExit("triplefault", 1, VmExitReason.TripleFault);
        Assert.Equal(["faulting"], lines);
    }

    [Fact]
    public void HaltWithInterruptsOffEndsTheVm()
    {
        var lines = RunToExit("halt", 1, VmExitReason.GuestHalt);
        Assert.Equal(["halting"], lines);
    }

    [Fact]
    public void HaltIsDetectedWithApplicationProcessorsNeverStarted()
    {
        RunToExit("halt", 3, VmExitReason.GuestHalt);
    }

    [Fact]
    public void UnclaimedPortsAndMmioReadAllOnes()
    {
        using var vm = Start("ports");
        Assert.True(vm.WaitForExit(Bound));
        var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
        Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        Assert.Contains("port 0x0080=0x000000ff", lines);
        Assert.Contains("port 0x0510=0x0000ffff", lines);
        Assert.Contains("port 0x0cf8=0xffffffff", lines);
        Assert.Contains("port 0x0cfc=0xffffffff", lines);
        Assert.Contains("mmio 0xd0000000=0xffffffff", lines);
        Assert.True(vm.UnhandledPortAccesses >= 4);
        Assert.True(vm.UnhandledMmioAccesses >= 1);
    }

    [Fact]
    public void EndlessOutputStaysBoundedAndCountsDroppedLines()
    {
        using var vm = Start("flood");
        var deadline = Stopwatch.StartNew();
        while (vm.Console.DroppedLines == 0 && deadline.Elapsed < Bound)
        {
            Thread.Sleep(50);
        }

        vm.Stop();
        Assert.True(vm.Console.DroppedLines > 0);
        Assert.Equal(vm.Console.Capacity, vm.Console.Count);
        var held = vm.Console.Snapshot();
        Assert.Equal($"line {held[0].Sequence}", held[0].Text);
        Assert.Equal(held[0].Sequence + held.Count - 1, held[^1].Sequence);
    }

    [Theory]
    [InlineData(1, 1, BootErrorKind.MemoryTooSmall)]
    [InlineData(64 * 1024 * 1024, 1, BootErrorKind.MemoryTooLarge)]
    [InlineData(64, 0, BootErrorKind.InvalidProcessorCount)]
    [InlineData(64, 255, BootErrorKind.InvalidProcessorCount)]
    public void ImpossibleConfigurationsAreRefusedAtCreation(int memoryMB, int cpus, BootErrorKind expected)
    {
        var error = Assert.Throws<BootException>(() => new VirtualMachine(new VmConfig("bad", GuestImages.PathOf("probe"), MemoryMB: memoryMB, ProcessorCount: cpus)));
        Assert.Equal(expected, error.Kind);
    }

    [Fact]
    public void StartingTwiceOrStoppingBeforeStartIsAnInvalidOperation()
    {
        using var vm = new VirtualMachine(new VmConfig("twice", GuestImages.PathOf("echo"), MemoryMB: 64));
        Assert.Throws<InvalidOperationException>(vm.Stop);
        vm.Start();
        Assert.Throws<InvalidOperationException>(vm.Start);
        vm.Stop();
        Assert.Throws<InvalidOperationException>(() => vm.SendConsole("x"u8));
    }

    [Fact]
    public void BootErrorsLeaveTheVmFailedWithTheReasonAndNothingToWaitFor()
    {
        // The initrd is there when the VM is created and gone when it starts.
        var initrd = Path.GetTempFileName();
        File.WriteAllBytes(initrd, [1, 2, 3]);
        using var vm = new VirtualMachine(new VmConfig("noinitrd", GuestImages.PathOf("probe"), initrd, MemoryMB: 64));
        File.Delete(initrd);
        var error = Assert.Throws<BootException>(vm.Start);
        Assert.Equal(BootErrorKind.InitrdNotFound, error.Kind);
        Assert.Equal(VmState.Failed, vm.State);
        Assert.Equal(VmExitReason.BootFailed, vm.ExitReason);
        Assert.Equal(error.Message, vm.Fault?.Message);
        Assert.True(vm.WaitForExit(TimeSpan.Zero));
        Assert.True(vm.Console.IsCompleted);
        Assert.Null(vm.Console.WaitFor(new Regex("never"), Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task DisposingAVmThatNeverStartedLetsItsWaitersGo()
    {
        var vm = new VirtualMachine(new VmConfig("never-started", GuestImages.PathOf("probe"), MemoryMB: 64));
        var consoleWait = Task.Run(() => vm.Console.WaitFor(new Regex("never"), Timeout.InfiniteTimeSpan));
        var exitWait = Task.Run(() => vm.WaitForExit(Timeout.InfiniteTimeSpan));
        await Task.Delay(100);
        Assert.False(consoleWait.IsCompleted || exitWait.IsCompleted);
        vm.Dispose();
        Assert.Null(await consoleWait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await exitWait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(VmState.Created, vm.State);
        Assert.Throws<ObjectDisposedException>(vm.Start);
    }

    [Fact]
    public void TimeoutsTooLongForAWaitHandleWaitForever()
    {
        using var vm = Start("spin");
        Assert.NotNull(vm.Console.WaitFor(new Regex("^spinning$"), TimeSpan.MaxValue));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.False(vm.WaitForExit(TimeSpan.FromDays(365), cancel.Token));
        Assert.True(cancel.IsCancellationRequested);
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.WaitForExit(TimeSpan.FromSeconds(-2)));
    }

    private static VirtualMachine Start(string guest, int cpus = 1)
    {
        var vm = new VirtualMachine(new VmConfig(guest, GuestImages.PathOf(guest), ProcessorCount: cpus, MemoryMB: 64));
        vm.Start();
        return vm;
    }

    private static List<string> RunToExit(string guest, int cpus, VmExitReason expected = VmExitReason.GuestReset)
    {
        using var vm = Start(guest, cpus);
        Assert.True(vm.WaitForExit(Bound), $"{guest} did not exit");
        var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
        Assert.True(expected == vm.ExitReason, $"{guest}: expected {expected}, got {vm.ExitReason} {vm.Fault}; output:\n{string.Join('\n', lines)}");
        return lines;
    }
}
