using System.Numerics;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// Turns KVM_GET_SUPPORTED_CPUID into one vCPU's CPUID: its APIC id in leaves 1 and 0xB/0x1F, a flat
/// topology (one core per vCPU, one package), the hypervisor bit and the KVM signature leaf.
/// </summary>
internal static class CpuidSetup
{
    private const uint HypervisorBit = 1u << 31;
    private const uint HyperThreadingBit = 1u << 28;
    private const uint KvmSignatureLeaf = 0x4000_0000;
    private const uint KvmFeaturesLeaf = 0x4000_0001;

    public static KvmCpuidEntry2[] ForVcpu(ReadOnlySpan<KvmCpuidEntry2> supported, int index, int count)
    {
        var apicId = (uint)index;
        var entries = new List<KvmCpuidEntry2>(supported.Length + 1);
        var hasSignature = false;
        var topologyLeaves = new SortedSet<uint>();
        foreach (var source in supported)
        {
            var entry = source;
            switch (entry.Function)
            {
                case 1:
                    entry.Ebx = (entry.Ebx & 0x0000_FFFF) | ((uint)Math.Min(count, 255) << 16) | (apicId << 24);
                    entry.Ecx |= HypervisorBit;
                    entry.Edx = count > 1 ? entry.Edx | HyperThreadingBit : entry.Edx & ~HyperThreadingBit;
                    break;
                case 4:
                    // Cores per package - 1 in EAX[31:26]; threads sharing the cache are left as KVM reports.
                    entry.Eax = (entry.Eax & 0x03FF_FFFF) | ((uint)(Math.Min(count, 64) - 1) << 26);
                    break;
                case 0xB or 0x1F:
                    // Replaced whole below: the host may report only some of the sub-leaves.
                    topologyLeaves.Add(entry.Function);
                    continue;
                case KvmSignatureLeaf:
                    hasSignature = true;
                    SetKvmSignature(ref entry);
                    break;
            }

            entries.Add(entry);
        }

        foreach (var function in topologyLeaves)
        {
            for (uint level = 0; level <= 2; level++)
            {
                entries.Add(TopologyLevel(function, level, apicId, count));
            }
        }

        if (!hasSignature)
        {
            var signature = new KvmCpuidEntry2 { Function = KvmSignatureLeaf };
            SetKvmSignature(ref signature);
            entries.Add(signature);
        }

        return entries.ToArray();
    }

    /// <summary>Leaf 0xB/0x1F sub-leaf: level 0 SMT (one thread per core), 1 core (every vCPU a core of one package), 2 the end.</summary>
    private static KvmCpuidEntry2 TopologyLevel(uint function, uint level, uint apicId, int count)
    {
        var entry = new KvmCpuidEntry2 { Function = function, Index = level, Flags = KvmCpuidEntry2.SignificantIndex, Edx = apicId };
        switch (level)
        {
            case 0:
                entry.Eax = 0;
                entry.Ebx = 1;
                entry.Ecx = (1u << 8) | 0;
                break;
            case 1:
                entry.Eax = count <= 1 ? 0u : (uint)(32 - BitOperations.LeadingZeroCount((uint)count - 1));
                entry.Ebx = (uint)count;
                entry.Ecx = (2u << 8) | 1;
                break;
            default:
                entry.Ecx = level;
                break;
        }

        return entry;
    }

    private static void SetKvmSignature(ref KvmCpuidEntry2 entry)
    {
        entry.Eax = Math.Max(entry.Eax, KvmFeaturesLeaf);
        entry.Ebx = 0x4B4D_564B; // "KVMK"
        entry.Ecx = 0x564B_4D56; // "VMKV"
        entry.Edx = 0x0000_004D; // "M\0\0\0"
    }
}
