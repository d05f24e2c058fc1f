using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Kernel;

namespace PvhVm.Core.Tests.Machine;

/// <summary>
/// Debian's cloud kernel, which nobody here wrote, booted through PVH: its early log is the ground truth
/// that the ABI was honoured. On hosts whose KVM emulates instructions in software the kernel later stops
/// with an emulation failure, which must come back as a structured fault.
/// </summary>
/// (A class fixture rather than the DebianKernel collection, so these boots run beside the kernel parser tests.)
public sealed class LinuxBootTests(DebianKernelFixture kernel) : IClassFixture<DebianKernelFixture>
{
    private static readonly TimeSpan EarlyBootBound = TimeSpan.FromMinutes(10);

    [Fact]
    public void ElfKernelReportsOurCommandLineMemoryMapInitrdAcpiAndCpus()
    {
        BootAndCheck(kernel.VmlinuxPath, cpus: 2, runToExit: true);
    }

    [Fact]
    public void BzImageKernelBootsThroughItsEmbeddedElfAndStopsOnDemand()
    {
        BootAndCheck(kernel.VmlinuzPath, cpus: 1, runToExit: false);
    }

    private static void BootAndCheck(string kernel, int cpus, bool runToExit)
    {
        var initrd = Path.GetTempFileName();
        File.WriteAllBytes(initrd, new byte[64 * 1024]);
        try
        {
            var commandLine = "console=ttyS0 earlyprintk=ttyS0 pvhvm.marker=7c1e panic=-1";
            using var vm = new VirtualMachine(new VmConfig("linux", kernel, initrd, commandLine, 512, cpus));
            vm.Start();
            var cpusLine = vm.Console.WaitFor(new Regex(@"smpboot: Allowing \d+ CPUs"), EarlyBootBound);
            Assert.True(cpusLine is not null, "no smpboot line; console:\n" + string.Join('\n', vm.Console.Snapshot().Select(l => l.Text)));
            var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
            Assert.Contains(lines, l => l.EndsWith($"Command line: {commandLine}", StringComparison.Ordinal));
            Assert.Equal(AsLinuxPrintsIt(vm.E820Map), KernelsE820(lines));
            var initrdRegion = Assert.Single(vm.MemoryMap, r => r.Usage == RegionUsage.Initrd);
            Assert.Contains(lines, l => l.Contains($"RAMDISK: [mem 0x{initrdRegion.Start:x8}-", StringComparison.Ordinal));
            Assert.Contains($"smpboot: Allowing {cpus} CPUs", cpusLine!.Text);
            Assert.Contains(lines, l => l.Contains("ACPI: APIC 0x", StringComparison.Ordinal));

            if (!runToExit)
            {
                vm.Stop();
                Assert.Equal(VmExitReason.Stopped, vm.ExitReason);
                return;
            }

            // No root file system: on hardware-assisted KVM the kernel panics and, with panic=-1, resets.
            // Here the emulating host stops it first; either way the VM must end and say how.
            Assert.True(vm.WaitForExit(EarlyBootBound), "the kernel neither faulted nor reset");
            if (vm.ExitReason == VmExitReason.Fault)
            {
                Assert.Equal(VmState.Failed, vm.State);
                var fault = vm.Fault!;
                Assert.Equal("KVM_EXIT_INTERNAL_ERROR", fault.ExitReason);
                Assert.Equal(1u, fault.Suberror);
                Assert.True(fault.Rip >= 0xffffffff80000000, $"RIP 0x{fault.Rip:x} is not a kernel text address");
                Assert.NotEmpty(fault.InstructionBytes);
                Assert.Contains($"0x{fault.Rip:x}", fault.Message);
            }
            else
            {
                Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
            }
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>
    /// The memory map the kernel says it was given ("BIOS-e820: [mem 0x...-0x...] usable"). Linux adds its own reserved
    /// entry for 0xA0000-0xFFFFF and sanitizes the table before printing it; our map already covers that range with
    /// reserved and ACPI entries, so what it prints must be exactly what we wrote.
    /// </summary>
    private static List<string> KernelsE820(IEnumerable<string> lines)
        => [.. lines.Select(l => Regex.Match(l, @"BIOS-e820: \[mem (0x[0-9a-f]{16}-0x[0-9a-f]{16})\] (.+)$")).Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}")];

    private static List<string> AsLinuxPrintsIt(IEnumerable<E820Entry> map)
        => [.. map.Select(e => $"0x{e.Address:x16}-0x{e.End - 1:x16} " + e.Type switch
        {
            E820Type.Ram => "usable",
            E820Type.Reserved => "reserved",
            E820Type.Acpi => "ACPI data",
            E820Type.Nvs => "ACPI NVS",
            E820Type.Unusable => "unusable",
            _ => $"type {(uint)e.Type}",
        })];
}
