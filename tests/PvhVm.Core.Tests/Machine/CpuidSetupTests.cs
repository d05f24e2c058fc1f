using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests.Machine;

/// <summary>Each vCPU's CPUID, built from what the real /dev/kvm supports.</summary>
public sealed class CpuidSetupTests
{
    private static readonly KvmCpuidEntry2[] Supported = ReadSupported();

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 4)]
    [InlineData(5, 6)]
    public void EachVcpuSeesItsOwnApicIdAndTheVmsTopology(int index, int count)
    {
        var entries = CpuidSetup.ForVcpu(Supported, index, count);
        var leaf1 = Assert.Single(entries, e => e.Function == 1);
        Assert.Equal((uint)index, leaf1.Ebx >> 24);
        Assert.Equal((uint)count, (leaf1.Ebx >> 16) & 0xFF);
        Assert.NotEqual(0u, leaf1.Ecx & (1u << 31));
        Assert.Equal(count > 1, (leaf1.Edx & (1u << 28)) != 0);

        var topologyLeaves = entries.Where(e => e.Function == 0xB).ToList();
        Assert.Contains(topologyLeaves, e => e.Index == 1);
        foreach (var topology in topologyLeaves)
        {
            Assert.Equal((uint)index, topology.Edx);
            if (topology.Index == 1)
            {
                Assert.Equal((uint)count, topology.Ebx);
                Assert.True(1u << (int)topology.Eax >= (uint)count, "the core-level shift must cover every APIC id");
            }
        }
    }

    [Fact]
    public void TheKvmSignatureLeafNamesKvm()
    {
        var signature = Assert.Single(CpuidSetup.ForVcpu(Supported, 0, 1), e => e.Function == 0x4000_0000);
        var text = string.Concat(new[] { signature.Ebx, signature.Ecx, signature.Edx }.SelectMany(BitConverter.GetBytes).Select(b => (char)b));
        Assert.Equal("KVMKVMKVM\0\0\0", text);
        Assert.True(signature.Eax >= 0x4000_0001);
    }

    [Fact]
    public void TheSupportedLeavesAreNotMutated()
    {
        var before = Supported.ToArray();
        _ = CpuidSetup.ForVcpu(Supported, 7, 8);
        Assert.Equal(before, Supported);
    }

    private static KvmCpuidEntry2[] ReadSupported()
    {
        using var system = KvmSystem.Open();
        return system.GetSupportedCpuid();
    }
}
