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

            // No root file system: on hardware-assisted KVM the kernel panics and, with panic=-1, resets. A host whose
            // KVM emulates the guest kernel in software (the kvm_pvm module) cannot emulate `lock cmpxchg16b` and stops
            // it there first. Which of the two must happen is the host's to say, not the test's to accept either.
            Assert.True(vm.WaitForExit(EarlyBootBound), "the kernel neither faulted nor reset");
            var console = "console:\n" + string.Join('\n', vm.Console.Snapshot().TakeLast(20).Select(l => l.Text));
            if (HostEmulatesGuestKernel)
            {
                Assert.True(vm.ExitReason == VmExitReason.Fault, $"kvm_pvm host: expected the cmpxchg16b fault, got {vm.ExitReason}; {console}");
                Assert.Equal(VmState.Failed, vm.State);
                var fault = vm.Fault!;
                Assert.Equal("KVM_EXIT_INTERNAL_ERROR", fault.ExitReason);
                Assert.Equal(1u, fault.Suberror);
                Assert.True(fault.Rip >= 0xffffffff80000000, $"RIP 0x{fault.Rip:x} is not a kernel text address");
                Assert.True(IsLockCmpxchg16b(fault.InstructionBytes), $"faulting instruction {Convert.ToHexString(fault.InstructionBytes)} is not lock cmpxchg16b");
                Assert.Contains($"0x{fault.Rip:x}", fault.Message);
            }
            else
            {
                Assert.True(vm.ExitReason == VmExitReason.GuestReset, $"expected the panic's reset, got {vm.ExitReason} ({vm.Fault?.Message}); {console}");
            }
        }
        finally
        {
            File.Delete(initrd);
        }
    }

    /// <summary>The host's KVM is the nested, software-emulating kvm_pvm hypervisor.</summary>
    private static bool HostEmulatesGuestKernel => Directory.Exists("/sys/module/kvm_pvm");

    /// <summary>
    /// LOCK, then REX.W, 0F C7 with ModRM reg 1 and a memory operand: cmpxchg16b m128 (SDM vol. 2A, CMPXCHG8B/16B).
    /// Other legacy prefixes may come before the REX.
    /// </summary>
    private static bool IsLockCmpxchg16b(byte[] bytes)
    {
        var i = 0;
        var locked = false;
        for (; i < bytes.Length && bytes[i] is 0xF0 or 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65 or 0x66 or 0x67; i++)
        {
            locked |= bytes[i] == 0xF0;
        }

        return locked && bytes.Length >= i + 4
            && (bytes[i] & 0xF8) == 0x48
            && bytes[i + 1] == 0x0F && bytes[i + 2] == 0xC7
            && ((bytes[i + 3] >> 3) & 7) == 1 && bytes[i + 3] >> 6 != 3;
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
