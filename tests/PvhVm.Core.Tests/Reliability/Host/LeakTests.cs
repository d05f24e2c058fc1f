using System.Diagnostics;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>
/// Create, start, run to the guest's reset, dispose, again and again: descriptors, mappings, threads and RSS stay flat.
/// Measured after a warm-up, at the half-way mark and at the end, so growth between the two marks is what a leak shows as.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LeakTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void TwoHundredCyclesLeaveTheProcessFlat() => RunCycles(200, output);

    /// <summary>
    /// VMs with a disk and an entropy source driven by the C virtio guest: each has a device I/O thread, an ioeventfd
    /// per queue and an irqfd per device, and a locked image; all of them go with the VM.
    /// </summary>
    [Fact]
    public void HundredCyclesWithVirtioDevicesLeaveTheProcessFlat()
    {
        var image = Path.Combine(Path.GetTempPath(), $"pvhvm-leak-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(image, new byte[1 << 20]);
        try
        {
            RunCycles(100, output, i => new VmConfig($"virtio-cycle{i}", GuestImages.PathOf("virtio"), MemoryMB: 16)
            {
                Disks = [new DiskConfig(image)],
                EnableEntropy = true,
            });
        }
        finally
        {
            File.Delete(image);
        }
    }

    internal static void RunCycles(int cycles, ITestOutputHelper output, Func<int, VmConfig>? config = null)
    {
        config ??= i => new VmConfig($"cycle{i}", GuestImages.PathOf("probe"), MemoryMB: 16);
        Cycle(20, config);
        var start = ProcessResources.Now();
        var clock = Stopwatch.StartNew();
        Cycle(cycles / 2, config);
        var middle = ProcessResources.Now();
        Cycle(cycles - (cycles / 2), config);
        var end = ProcessResources.Now();
        output.WriteLine($"{cycles} cycles in {clock.Elapsed.TotalSeconds:F1} s; after warm-up: {start}; half-way: {middle}; end: {end}");

        // A leak of one descriptor, mapping or thread per cycle would show as cycles/2 here.
        Assert.InRange(end.Descriptors - middle.Descriptors, int.MinValue, 2);
        Assert.InRange(end.Mappings - middle.Mappings, int.MinValue, 16);
        Assert.InRange(end.Threads - middle.Threads, int.MinValue, 4);
        // Guest RAM is 16 MiB a VM: one leaked VM's worth would show; allocator noise stays well below it.
        Assert.InRange(end.ResidentKiB - middle.ResidentKiB, long.MinValue, 12 * 1024);
        Assert.InRange(end.Descriptors - start.Descriptors, int.MinValue, 4);
        Assert.InRange(end.Threads - start.Threads, int.MinValue, 8);
    }

    private static void Cycle(int count, Func<int, VmConfig> config)
    {
        for (int i = 0; i < count; i++)
        {
            using var vm = new VirtualMachine(config(i));
            vm.Start();
            Assert.True(vm.WaitForExit(Bound), $"cycle {i}: the guest did not exit");
            Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
        }
    }
}
