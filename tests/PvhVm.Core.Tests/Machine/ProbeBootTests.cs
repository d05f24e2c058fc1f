using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Machine;

public sealed class ProbeBootTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void ProbeSeesStartInfoExactlyAsTheEngineLaidItOut()
    {
        var initrd = Path.GetTempFileName();
        File.WriteAllBytes(initrd, Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray());
        try
        {
            using var vm = new VirtualMachine(new VmConfig("probe", GuestImages.PathOf("probe"), initrd, "console=ttyS0 marker=5f3a", 256));
            vm.Start();
            Assert.True(vm.WaitForExit(BootTimeout));
            var lines = vm.Console.Snapshot().Select(l => l.Text).ToList();
            Assert.Equal(VmExitReason.GuestReset, vm.ExitReason);
            Assert.Equal(VmState.Stopped, vm.State);
            Assert.Null(vm.Fault);

            Assert.Contains("magic=0x336ec578 version=1 flags=0x00000000", lines);
            Assert.Contains("cmdline=console=ttyS0 marker=5f3a", lines);
            Assert.Contains("modules=1", lines);
            var initrdRegion = Assert.Single(vm.MemoryMap, r => r.Usage == RegionUsage.Initrd);
            Assert.Contains($"module[0] paddr=0x{initrdRegion.Start:x16} size=0x{10_000:x16}", lines);
            var startInfo = Assert.Single(vm.MemoryMap, r => r.Usage == RegionUsage.StartInfo);
            Assert.Contains($"PVH probe: start_info at 0x{startInfo.Start:x8}", lines);

            var printedMap = lines.Where(l => l.StartsWith("memmap[", StringComparison.Ordinal)).ToList();
            Assert.Equal(vm.E820Map.Count, printedMap.Count);
            Assert.Contains($"memmap_entries={vm.E820Map.Count}", lines);
            for (var i = 0; i < printedMap.Count; i++)
            {
                var e = vm.E820Map[i];
                Assert.Equal($"memmap[{i}] addr=0x{e.Address:x16} size=0x{e.Size:x16} type={(uint)e.Type}", printedMap[i]);
            }

            Assert.Equal("probe done", lines[^1]);
        }
        finally
        {
            File.Delete(initrd);
        }
    }
}
