using System.Text;
using PvhVm.Core.Boot;
using static PvhVm.Core.Tests.Boot.BootTestSupport;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

public sealed class PvhBootLoaderTests
{
    [Fact]
    public void StartInfoIsWrittenFieldByField()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        using var initrd = new TempFile(TestKernel.RandomBytes(3 * (int)MiB + 123, seed: 7));
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(initrd: initrd.Path));

        var info = plan.StartInfoAddress;
        Assert.Equal(Layout.StartInfoAddress, info);
        Assert.Equal(0x336ec578u, ReadU32(memory, info));
        Assert.Equal(1u, ReadU32(memory, info + 4));
        Assert.Equal(0u, ReadU32(memory, info + 8));
        Assert.Equal(1u, ReadU32(memory, info + 12));
        Assert.Equal(Layout.ModuleListAddress, ReadU64(memory, info + 16));
        Assert.Equal(Layout.CommandLineAddress, ReadU64(memory, info + 24));
        Assert.Equal(Layout.AcpiTablesAddress, ReadU64(memory, info + 32));
        Assert.Equal(Layout.MemoryMapTableAddress, ReadU64(memory, info + 40));
        Assert.Equal((uint)plan.MemoryMap.Count, ReadU32(memory, info + 48));
        Assert.Equal(0u, ReadU32(memory, info + 52));
    }

    [Fact]
    public void CommandLineIsNulTerminatedAtItsAddress()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        const string commandLine = "console=ttyS0 root=/dev/vda ro quiet ünïcode";
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(commandLine));

        var address = ReadU64(memory, plan.StartInfoAddress + 24);
        var expected = Encoding.UTF8.GetBytes(commandLine);
        Assert.Equal(expected, memory.GetSpan(address, expected.Length).ToArray());
        Assert.Equal(0, memory.GetSpan(address + (ulong)expected.Length, 1)[0]);
        var region = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.CommandLine);
        Assert.Equal((ulong)expected.Length + 1, region.Size);
    }

    [Fact]
    public void ModuleZeroIsTheInitrdPlacedAtTheTopOfRam()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var content = TestKernel.RandomBytes(3 * (int)MiB + 123, seed: 7);
        using var initrd = new TempFile(content);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(initrd: initrd.Path));

        var modules = ReadU64(memory, plan.StartInfoAddress + 16);
        var address = ReadU64(memory, modules);
        Assert.Equal((ulong)content.Length, ReadU64(memory, modules + 8));
        Assert.Equal(0ul, ReadU64(memory, modules + 16));
        Assert.Equal(0ul, ReadU64(memory, modules + 24));
        Assert.Equal((256 * MiB - (ulong)content.Length) & ~0xFFFul, address);
        Assert.Equal(content, memory.GetSpan(address, content.Length).ToArray());
        var region = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.Initrd);
        Assert.Equal((address, (ulong)content.Length), (region.Start, region.Size));
    }

    [Fact]
    public void InitrdGoesBelowAKernelSegmentAtTheTopOfRam()
    {
        using var memory = GuestMemory.Allocate(64 * MiB);
        var kernel = new TestKernel(entry: 0x3F0_0000)
            .With(0x3F0_0000, TestKernel.RandomBytes(0x1000, seed: 3), memorySize: 0x10_0000, TestKernel.Readable | TestKernel.Executable);
        using var initrd = new TempFile(TestKernel.RandomBytes(0x2345, seed: 4));
        var plan = PvhBootLoader.Load(memory, kernel, Parameters(initrd: initrd.Path));

        var region = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.Initrd);
        Assert.Equal((0x3F0_0000ul - 0x2345) & ~0xFFFul, region.Start);
    }

    [Fact]
    public void WithoutInitrdThereAreNoModules()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());

        Assert.Equal(0u, ReadU32(memory, plan.StartInfoAddress + 12));
        Assert.Equal(0ul, ReadU64(memory, plan.StartInfoAddress + 16));
        Assert.DoesNotContain(plan.Layout, r => r.Usage is RegionUsage.ModuleList or RegionUsage.Initrd);
    }

    [Fact]
    public void KernelSegmentsAreCopiedAndTheirTailZeroedEvenInReusedMemory()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var kernel = TestKernel.Standard();
        foreach (var segment in kernel.LoadSegments)
        {
            memory.GetSpan(segment.PhysicalAddress, (int)segment.MemorySize).Fill(0xAA);
        }

        PvhBootLoader.Load(memory, kernel, Parameters());

        foreach (var segment in kernel.LoadSegments)
        {
            Assert.Equal(kernel.BytesOf(segment), memory.GetSpan(segment.PhysicalAddress, (int)segment.FileSize).ToArray());
            var tail = memory.GetSpan(segment.PhysicalAddress + segment.FileSize, (int)(segment.MemorySize - segment.FileSize));
            Assert.Equal(-1, tail.IndexOfAnyExcept((byte)0));
        }
    }

    [Fact]
    public void EntryStateIsThePvhProtectedModeState()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var state = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters()).EntryState;

        Assert.Equal(0x100_0100ul, state.Rip);
        Assert.Equal(Layout.StartInfoAddress, state.Rbx);
        Assert.Equal(1ul, state.Cr0 & 1);
        Assert.Equal(0ul, state.Cr0 & 0x8000_0000);
        Assert.Equal((0ul, 0ul), (state.Cr4, state.Efer));
        Assert.Equal(0x2ul, state.Rflags);
        Assert.Equal((0ul, (ushort)0), (state.IdtBase, state.IdtLimit));
        Assert.Equal((Layout.GdtAddress, (ushort)31), (state.GdtBase, state.GdtLimit));
        Assert.Equal(new SegmentState(0x08, 0, 0xFFFF_FFFF, 0xB, true, 0, true, true, false, true), state.Cs);
        foreach (var data in new[] { state.Ds, state.Es, state.Fs, state.Gs, state.Ss })
        {
            Assert.Equal(new SegmentState(0x10, 0, 0xFFFF_FFFF, 0x3, true, 0, true, true, false, true), data);
        }

        Assert.Equal(new SegmentState(0x18, 0, 0x67, 0xB, true, 0, false, false, false, false), state.Tr);
        Assert.Equal(0x2, state.Ldt.Type);
        Assert.True(state.Ldt.Present);
    }

    [Fact]
    public void GdtInGuestMemoryDecodesToTheEntrySegments()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());
        var state = plan.EntryState;

        var gdt = memory.GetSpan(state.GdtBase, state.GdtLimit + 1);
        Assert.Equal(0ul, BitConverter.ToUInt64(gdt[..8]));
        foreach (var segment in new[] { state.Cs, state.Ds, state.Es, state.Fs, state.Gs, state.Ss, state.Tr })
        {
            Assert.Equal(segment, Decode(segment.Selector, BitConverter.ToUInt64(gdt.Slice(segment.Selector, 8))));
        }

        var region = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.Gdt);
        Assert.Equal((state.GdtBase, (ulong)state.GdtLimit + 1), (region.Start, region.Size));
    }

    [Fact]
    public void LoadsIntoRamAboveFourGibWhenTheGuestIsLarge()
    {
        using var memory = GuestMemory.Allocate(4 * GiB + 512 * MiB);
        using var initrd = new TempFile(TestKernel.RandomBytes(0x1800, seed: 9));
        var kernel = TestKernel.Standard()
            .With(0x1_2000_0000, TestKernel.RandomBytes(0x2000, seed: 5), memorySize: 0x4000, TestKernel.Readable);
        var plan = PvhBootLoader.Load(memory, kernel, Parameters(initrd: initrd.Path));

        Assert.Equal(new E820Entry(Layout.HighRamStart, GiB + 512 * MiB, E820Type.Ram), plan.MemoryMap[^1]);
        Assert.DoesNotContain(plan.MemoryMap, e => e.Address < Layout.HighRamStart && e.End > Layout.MmioHoleStart);
        Assert.Equal(kernel.BytesOf(kernel.LoadSegments[2]), memory.GetSpan(0x1_2000_0000, 0x2000).ToArray());
        var initrdRegion = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.Initrd);
        Assert.Equal(Layout.MmioHoleStart - 0x2000, initrdRegion.Start);
    }

    [Fact]
    public void NothingIsWrittenWhenValidationFails()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var kernel = new TestKernel(entry: 0x50_0000)
            .With(0x100_0000, TestKernel.RandomBytes(0x1000, seed: 1), memorySize: 0x1000, TestKernel.Readable | TestKernel.Executable);

        Assert.Throws<BootException>(() => PvhBootLoader.Load(memory, kernel, Parameters()));

        Assert.Equal(0u, ReadU32(memory, Layout.StartInfoAddress));
        Assert.Equal(-1, memory.GetSpan(0x100_0000, 0x1000).IndexOfAnyExcept((byte)0));
    }

    /// <summary>An independent decoder of 8-byte legacy descriptors, in kvm_segment terms.</summary>
    private static SegmentState Decode(ushort selector, ulong d)
    {
        var granular = (d >> 55 & 1) != 0;
        var rawLimit = (uint)(d & 0xFFFF | (d >> 48 & 0xF) << 16);
        return new SegmentState(
            selector,
            Base: d >> 16 & 0xFF_FFFF | (d >> 56 & 0xFF) << 24,
            Limit: granular ? rawLimit << 12 | 0xFFF : rawLimit,
            Type: (byte)(d >> 40 & 0xF),
            Present: (d >> 47 & 1) != 0,
            Dpl: (byte)(d >> 45 & 3),
            DefaultBig: (d >> 54 & 1) != 0,
            CodeOrData: (d >> 44 & 1) != 0,
            Long: (d >> 53 & 1) != 0,
            Granularity: granular);
    }
}
