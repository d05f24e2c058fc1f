using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvhVm.Core.Boot;
using PvhVm.Core.Boot.Acpi;

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
    }
}
