using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>A vCPU's state captured and set on a fresh vCPU of another KVM VM, as a restore does, without running either.</summary>
public sealed class VcpuSnapshotTests
{
    private const uint TscMsr = 0x10;
    private const uint TscDeadlineMsr = 0x6e0;
    private const int LvtTimerOffset = 0x320;
    private const int SpuriousVectorOffset = 0xf0;

    /// <summary>
    /// A Linux guest's clock events are the LAPIC timer in TSC-deadline mode: its next tick is the TSC_DEADLINE MSR, which
    /// KVM takes only while the LAPIC's timer is in that mode. Set before the LAPIC, the armed deadline was dropped and the
    /// restored guest would wait for a tick that never comes.
    /// </summary>
    [Fact]
    public void ArmedTscDeadlineSurvivesTheRestoreOrder()
    {
        using var system = KvmSystem.Open();
        using var source = system.CreateVm();
        source.CreateIrqchip();
        using var vcpu = source.CreateVcpu(0);
        vcpu.SetCpuid(CpuidSetup.ForVcpu(VcpuSet.CheckHost(1), 0, 1));
        var lapic = vcpu.GetLapic();
        var registers = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref lapic, 1));
        BinaryPrimitives.WriteUInt32LittleEndian(registers[SpuriousVectorOffset..], 0x1ff);  // APIC software-enabled
        BinaryPrimitives.WriteUInt32LittleEndian(registers[LvtTimerOffset..], (0b10u << 17) | 0xec);  // TSC-deadline mode, vector 0xec
        vcpu.SetLapic(lapic);
        var deadline = vcpu.GetMsrs([TscMsr])[0].Data + (1UL << 40);
        vcpu.SetMsrs([new KvmMsrEntry(TscDeadlineMsr, deadline)]);
        Assert.Equal(deadline, vcpu.GetMsrs([TscDeadlineMsr])[0].Data);

        var snapshot = VcpuSnapshot.Capture(vcpu, SaveableMsrs.Value);
        Assert.Contains(snapshot.Msrs, msr => msr.Index == TscDeadlineMsr && msr.Data == deadline);

        using var target = system.CreateVm();
        target.CreateIrqchip();
        using var restored = target.CreateVcpu(0);
        snapshot.ApplyTo(restored);
        Assert.Equal(deadline, restored.GetMsrs([TscDeadlineMsr])[0].Data);
    }
}
