using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvhVm.Core.Boot;
using PvhVm.Core.Boot.Acpi;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

public sealed class AbiStructSizeTests
{
    [Fact]
    public void PvhStructsHaveTheirAbiSizes()
    {
        Assert.Equal(56, Marshal.SizeOf<HvmStartInfo>());
        Assert.Equal(56, Unsafe.SizeOf<HvmStartInfo>());
        Assert.Equal(32, Marshal.SizeOf<HvmModListEntry>());
        Assert.Equal(32, Unsafe.SizeOf<HvmModListEntry>());
        Assert.Equal(24, Marshal.SizeOf<HvmMemmapTableEntry>());
        Assert.Equal(E820Entry.EncodedSize, Unsafe.SizeOf<HvmMemmapTableEntry>());
    }

    [Fact]
    public void TheMemoryMapTableTakesNoMoreEntriesThanLinuxCopies()
    {
        // Linux's init_pvh_bootparams copies memmap_entries into e820_table[E820_MAX_ENTRIES_ZEROPAGE = 128] unchecked.
        using var memory = GuestMemory.Allocate(4 << 20);
        var map = Enumerable.Range(0, 129).Select(i => new E820Entry((ulong)i << 12, 0x1000, E820Type.Ram)).ToList();
        var error = Assert.Throws<ArgumentException>(() => StartInfoWriter.Write(memory, 0, 0, map, null));
        Assert.Contains("holds 128", error.Message);
        StartInfoWriter.Write(memory, 0, 0, map[..128], null);
        Assert.Equal(127UL << 12, MemoryMarshal.Read<HvmMemmapTableEntry>(memory.GetSpan(Layout.MemoryMapTableAddress + 127 * E820Entry.EncodedSize, E820Entry.EncodedSize)).Address);
    }

    [Fact]
    public void StartInfoFieldsSitAtTheOffsetsOfStartInfoH()
    {
        Assert.Equal(12, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.ModuleCount)));
        Assert.Equal(16, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.ModuleListAddress)));
        Assert.Equal(24, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.CommandLineAddress)));
        Assert.Equal(32, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.RsdpAddress)));
        Assert.Equal(40, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.MemoryMapAddress)));
        Assert.Equal(48, (int)Marshal.OffsetOf<HvmStartInfo>(nameof(HvmStartInfo.MemoryMapEntryCount)));
        Assert.Equal(16, (int)Marshal.OffsetOf<HvmMemmapTableEntry>(nameof(HvmMemmapTableEntry.Type)));
    }

    [Fact]
    public void AcpiStructsHaveTheirSpecifiedSizes()
    {
        Assert.Equal(36, Marshal.SizeOf<AcpiTableHeader>());
        Assert.Equal(36, Unsafe.SizeOf<AcpiTableHeader>());
        Assert.Equal(36, Marshal.SizeOf<Rsdp>());
        Assert.Equal(36, Unsafe.SizeOf<Rsdp>());
        Assert.Equal(8, Marshal.SizeOf<MadtLocalApic>());
        Assert.Equal(12, Marshal.SizeOf<MadtIoApic>());
        Assert.Equal(24, (int)Marshal.OffsetOf<Rsdp>(nameof(Rsdp.XsdtAddress)));
        Assert.Equal(32, (int)Marshal.OffsetOf<Rsdp>(nameof(Rsdp.ExtendedChecksum)));
        Assert.Equal(GenericAddress.Size, Marshal.SizeOf<GenericAddress>());
        Assert.Equal(12, Unsafe.SizeOf<GenericAddress>());
        Assert.Equal(4, (int)Marshal.OffsetOf<GenericAddress>(nameof(GenericAddress.Address)));
    }
}
