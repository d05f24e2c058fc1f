using PvhVm.Core.Boot;
using static PvhVm.Core.Tests.Boot.BootTestSupport;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

public sealed class MemoryMapAndLayoutTests
{
    public static TheoryData<ulong> RamSizes => new() { 256 * MiB, 3 * GiB, 4 * GiB + 512 * MiB };

    [Fact]
    public void SmallGuestGetsTheLegacyLowMegabyteAndOneRamBlock()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());

        Assert.Equal(
            [
                new E820Entry(0, 0x9_FC00, E820Type.Ram),
                new E820Entry(0x9_FC00, 0xE_0000 - 0x9_FC00, E820Type.Reserved),
                new E820Entry(0xE_0000, 0x2_0000, E820Type.Acpi),
                new E820Entry(0x10_0000, 256 * MiB - 0x10_0000, E820Type.Ram),
            ],
            plan.MemoryMap);
    }

    [Theory]
    [MemberData(nameof(RamSizes))]
    public void MemoryMapTableInGuestEqualsThePlan(ulong ramSize)
    {
        using var memory = GuestMemory.Allocate(ramSize);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());

        var table = ReadU64(memory, plan.StartInfoAddress + 40);
        var count = ReadU32(memory, plan.StartInfoAddress + 48);
        var entries = Enumerable.Range(0, (int)count).Select(i => table + (ulong)(24 * i)).Select(a => new E820Entry(
            ReadU64(memory, a), ReadU64(memory, a + 8), (E820Type)ReadU32(memory, a + 16))).ToList();
        Assert.Equal(plan.MemoryMap, entries);
        Assert.All(Enumerable.Range(0, (int)count), i => Assert.Equal(0u, ReadU32(memory, table + (ulong)(24 * i) + 20)));
    }

    [Theory]
    [MemberData(nameof(RamSizes))]
    public void MemoryMapDescribesExactlyTheRamSlots(ulong ramSize)
    {
        using var memory = GuestMemory.Allocate(ramSize);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());

        Assert.All(plan.MemoryMap, e => Assert.True(memory.Contains(e.Address, e.Size), $"{e} is not backed by a memory slot"));
        Assert.Equal(memory.RamSize, plan.MemoryMap.Aggregate(0ul, (sum, e) => sum + e.Size));
        var ramAboveOneMiB = plan.MemoryMap.Where(e => e.Type == E820Type.Ram && e.Address >= Layout.HighMemoryStart);
        Assert.Equal(
            memory.Regions.Select(r => (Start: Math.Max(r.GuestAddress, Layout.HighMemoryStart), r.End)),
            ramAboveOneMiB.Select(e => (Start: e.Address, e.End)));
        Assert.DoesNotContain(plan.MemoryMap, e => e.Address < Layout.HighRamStart && e.End > Layout.MmioHoleStart);
    }

    [Theory]
    [MemberData(nameof(RamSizes))]
    public void LayoutTilesGuestRamWithSortedNonOverlappingRegions(ulong ramSize)
    {
        using var memory = GuestMemory.Allocate(ramSize);
        using var initrd = new TempFile(TestKernel.RandomBytes(0x5000, seed: 3));
        var layout = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(initrd: initrd.Path)).Layout;

        Assert.All(layout.Zip(layout.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Start, $"{pair.First} / {pair.Second}"));
        Assert.All(layout, r => Assert.True(r.Size > 0 && !string.IsNullOrWhiteSpace(r.Description)));
        foreach (var slot in memory.Regions)
        {
            var inside = layout.Where(r => r.Start < slot.End && r.End > slot.GuestAddress).ToList();
            Assert.Equal(slot.GuestAddress, inside[0].Start);
            Assert.Equal(slot.End, inside[^1].End);
            Assert.All(inside.Zip(inside.Skip(1)), pair => Assert.Equal(pair.First.End, pair.Second.Start));
        }

        var hole = Assert.Single(layout, r => r.Usage == RegionUsage.MmioHole);
        Assert.Equal((Layout.MmioHoleStart, Layout.HighRamStart), (hole.Start, hole.End));
        Assert.All(Enum.GetValues<RegionUsage>(), usage => Assert.Contains(layout, r => r.Usage == usage));
    }

    [Fact]
    public void MemoryMapIsTheLayoutMergedByType()
    {
        using var memory = GuestMemory.Allocate(4 * GiB + 512 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());

        foreach (var region in plan.Layout.Where(r => r.Usage != RegionUsage.MmioHole))
        {
            Assert.Single(plan.MemoryMap, e => e.Type == region.Type && e.Address <= region.Start && region.End <= e.End);
        }
    }

    [Fact]
    public void KernelSegmentsAreNamedWithTheirPermissions()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var layout = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters()).Layout;

        Assert.Equal(
            [("kernel PT_LOAD #0 (r-x)", 0x100_0000ul, 0x5000ul), ("kernel PT_LOAD #1 (rw-)", 0x200_0000ul, 0x10_0000ul)],
            layout.Where(r => r.Usage == RegionUsage.KernelSegment).Select(r => (r.Description, r.Start, r.Size)));
    }
}
