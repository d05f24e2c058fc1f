using System.Text;
using PvhVm.Core.Boot;
using PvhVm.Core.Boot.Acpi;
using PvhVm.Core.Devices;
using static PvhVm.Core.Tests.Boot.BootTestSupport;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

public sealed class AcpiTablesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void TablesReachedFromStartInfoAreValidAndNameEveryCpu(int cpus)
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(cpus: cpus));
        var tables = AcpiWalker.FromStartInfo(memory, plan.StartInfoAddress);

        Assert.Equal(["FACP", "APIC"], tables.XsdtEntries.Select(t => t.Signature));
        var madt = tables.Get("APIC");
        Assert.Equal((uint)Layout.LocalApicAddress, BitConverter.ToUInt32(madt, 36));
        var entries = AcpiWalker.MadtEntries(madt);
        var localApics = entries.Where(e => e[0] == 0).ToList();
        Assert.Equal(cpus, localApics.Count);
        Assert.All(localApics, e => Assert.Equal(8, e[1]));
        Assert.Equal(Enumerable.Range(0, cpus).Select(i => (byte)i), localApics.Select(e => e[3]));
        Assert.All(localApics, e => Assert.Equal(1u, BitConverter.ToUInt32(e, 4) & 1));
        var ioApic = Assert.Single(entries, e => e[0] == 1);
        Assert.Equal(12, ioApic[1]);
        Assert.Equal((uint)Layout.IoApicAddress, BitConverter.ToUInt32(ioApic, 4));
        Assert.Equal(0u, BitConverter.ToUInt32(ioApic, 8));
    }

    [Fact]
    public void FadtIsHardwareReducedAndPointsAtTheDsdt()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());
        var tables = AcpiWalker.FromStartInfo(memory, plan.StartInfoAddress);

        var fadt = tables.Get("FACP");
        Assert.Equal(276, fadt.Length);
        Assert.Equal(6, fadt[8]);
        Assert.NotEqual(0u, BitConverter.ToUInt32(fadt, 112) & (1u << 20));
        Assert.Equal(0u, BitConverter.ToUInt32(fadt, 40));
        var dsdt = AcpiWalker.ReadTable(memory, BitConverter.ToUInt64(fadt, 140));
        Assert.Equal("DSDT", Encoding.ASCII.GetString(dsdt, 0, 4));
        Assert.Equal(0, AcpiChecksum.Sum(dsdt));
    }

    [Fact]
    public void FadtNamesTheSleepAndResetRegistersAsBytePortsOfTheAcpiPowerDevice()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters());
        var fadt = AcpiWalker.FromStartInfo(memory, plan.StartInfoAddress).Get("FACP");

        // Generic Address Structures: system I/O space, 8 bits wide at bit 0, byte access, the port.
        static byte[] BytePort(ushort port) => [1, 8, 0, 1, (byte)port, (byte)(port >> 8), 0, 0, 0, 0, 0, 0];
        Assert.Equal(BytePort(AcpiPowerDevice.ResetPort), fadt[116..128]);
        Assert.Equal(AcpiPowerDevice.ResetValue, fadt[128]);
        Assert.NotEqual(0u, BitConverter.ToUInt32(fadt, 112) & (1u << 10)); // RESET_REG_SUP
        Assert.Equal(BytePort(AcpiPowerDevice.SleepControlPort), fadt[244..256]);
        Assert.Equal(BytePort(AcpiPowerDevice.SleepStatusPort), fadt[256..268]);
    }

    [Fact]
    public void TablesLieInsideTheAcpiRegionOfMapAndLayout()
    {
        using var memory = GuestMemory.Allocate(256 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(cpus: 4));
        var tables = AcpiWalker.FromStartInfo(memory, plan.StartInfoAddress);

        var region = Assert.Single(plan.Layout, r => r.Usage == RegionUsage.AcpiTables);
        var acpiMap = Assert.Single(plan.MemoryMap, e => e.Type == E820Type.Acpi);
        foreach (var (address, length) in tables.All.Select(t => (t.Address, (ulong)t.Bytes.Length)).Append((tables.RsdpAddress, 36ul)))
        {
            Assert.InRange(address, region.Start, region.End - length);
            Assert.InRange(address, acpiMap.Address, acpiMap.End - length);
        }
    }

    [Fact]
    public void ChecksumMakesAnyTableSumToZero()
    {
        var data = TestKernel.RandomBytes(300, seed: 11);
        AcpiChecksum.Apply(data, 9);
        Assert.Equal(0, AcpiChecksum.Sum(data));
        data[100]++;
        Assert.NotEqual(0, AcpiChecksum.Sum(data));
    }

    [Fact]
    public void MadtRejectsProcessorCountsItCannotName()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MadtBuilder.Build(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MadtBuilder.Build(Layout.MaxProcessors + 1));
        var madt = MadtBuilder.Build(Layout.MaxProcessors);
        Assert.Equal(Layout.MaxProcessors - 1, madt[madt.Length - 12 - 8 + 3]);
    }
}

/// <summary>Finds ACPI tables the way a guest does: start_info.rsdp_paddr, RSDP, XSDT, and checks every checksum on the way.</summary>
internal sealed record AcpiWalker(ulong RsdpAddress, IReadOnlyList<(string Signature, ulong Address, byte[] Bytes)> XsdtEntries, byte[] Xsdt, ulong XsdtAddress, byte[] Dsdt, ulong DsdtAddress)
{
    public IEnumerable<(string Signature, ulong Address, byte[] Bytes)> All
        => XsdtEntries.Append(("XSDT", XsdtAddress, Xsdt)).Append(("DSDT", DsdtAddress, Dsdt));

    public byte[] Get(string signature) => XsdtEntries.Single(t => t.Signature == signature).Bytes;

    public static AcpiWalker FromStartInfo(GuestMemory memory, ulong startInfo)
    {
        var rsdpAddress = BootTestSupport.ReadU64(memory, startInfo + 32);
        var rsdp = memory.GetSpan(rsdpAddress, 36).ToArray();
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(2, rsdp[15]);
        Assert.Equal(36u, BitConverter.ToUInt32(rsdp, 20));
        Assert.Equal(0, AcpiChecksum.Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, AcpiChecksum.Sum(rsdp));
        Assert.Equal(0ul, rsdpAddress % 16);

        var xsdtAddress = BitConverter.ToUInt64(rsdp, 24);
        var xsdt = ReadTable(memory, xsdtAddress);
        Assert.Equal("XSDT", Encoding.ASCII.GetString(xsdt, 0, 4));
        var entries = Enumerable.Range(0, (xsdt.Length - 36) / 8)
            .Select(i => BitConverter.ToUInt64(xsdt, 36 + 8 * i))
            .Select(address => (Encoding.ASCII.GetString(memory.GetSpan(address, 4)), address, ReadTable(memory, address)))
            .ToList();
        var fadt = entries.Single(e => e.Item1 == "FACP").Item3;
        var dsdtAddress = BitConverter.ToUInt64(fadt, 140);
        return new AcpiWalker(rsdpAddress, entries, xsdt, xsdtAddress, ReadTable(memory, dsdtAddress), dsdtAddress);
    }

    /// <summary>A whole table by its header's length; asserts that it sums to zero.</summary>
    public static byte[] ReadTable(GuestMemory memory, ulong address)
    {
        var length = BootTestSupport.ReadU32(memory, address + 4);
        Assert.InRange(length, 36u, 0x1_0000u);
        var table = memory.GetSpan(address, (int)length).ToArray();
        Assert.Equal(0, AcpiChecksum.Sum(table));
        return table;
    }

    public static List<byte[]> MadtEntries(byte[] madt)
    {
        var entries = new List<byte[]>();
        for (var offset = 44; offset < madt.Length; offset += madt[offset + 1])
        {
            Assert.True(madt[offset + 1] >= 2);
            entries.Add(madt.AsSpan(offset, madt[offset + 1]).ToArray());
        }

        return entries;
    }
}
