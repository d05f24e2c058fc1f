using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Checkpoints;

/// <summary>
/// The MSRs a checkpoint saves: KVM_GET_MSR_INDEX_LIST, filtered to those this host's KVM both reads and takes back
/// (some listed MSRs depend on CPU features the host lacks, and a restore must not fail on them). Probed once per
/// process on a scratch vCPU with the CPUID our VMs get, so no running guest's MSR is written to find out.
/// </summary>
internal static class SaveableMsrs
{
    private static readonly Lazy<uint[]> Indices = new(Probe, LazyThreadSafetyMode.PublicationOnly);

    public static uint[] Value => Indices.Value;

    private static uint[] Probe()
    {
        using var system = KvmSystem.Open();
        using var vm = system.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        vcpu.SetCpuid(CpuidSetup.ForVcpu(VcpuSet.CheckHost(1), 0, 1));
        var saveable = new List<uint>();
        foreach (var index in system.GetMsrIndexList())
        {
            if (vcpu.GetMsrs([index]) is not [var entry])
            {
                continue;
            }

            try
            {
                vcpu.SetMsrs([entry]);
                saveable.Add(index);
            }
            catch (KvmException)
            {
                // Readable but not writable here: a restore could not set it either.
            }
        }

        return [.. saveable];
    }
}
