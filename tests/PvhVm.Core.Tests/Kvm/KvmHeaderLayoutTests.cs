using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using PvhVm.Core.Kvm;
using PvhVm.Core.Tests.Kernel;

namespace PvhVm.Core.Tests.Kvm;

/// <summary>
/// The offsets, sizes and constants the engine hard-codes, checked against linux/kvm.h itself: kvm_layout.c is
/// compiled with gcc at test time and prints offsetof/sizeof as the host's kernel headers (linux-libc-dev) define them.
/// </summary>
public sealed class KvmHeaderLayoutTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, ulong>> Header = new(CompileAndRun);

    [Theory]
    [InlineData("kvm_run.immediate_exit", KvmRunLayout.ImmediateExit)]
    [InlineData("kvm_run.exit_reason", KvmRunLayout.ExitReason)]
    [InlineData("kvm_run.io", KvmRunLayout.Exit)]
    [InlineData("kvm_run.io.direction", KvmRunLayout.IoDirection)]
    [InlineData("kvm_run.io.size", KvmRunLayout.IoSize)]
    [InlineData("kvm_run.io.port", KvmRunLayout.IoPort)]
    [InlineData("kvm_run.io.count", KvmRunLayout.IoCount)]
    [InlineData("kvm_run.io.data_offset", KvmRunLayout.IoDataOffset)]
    [InlineData("kvm_run.mmio.phys_addr", KvmRunLayout.MmioPhysAddr)]
    [InlineData("kvm_run.mmio.data", KvmRunLayout.MmioData)]
    [InlineData("kvm_run.mmio.len", KvmRunLayout.MmioLength)]
    [InlineData("kvm_run.mmio.is_write", KvmRunLayout.MmioIsWrite)]
    [InlineData("kvm_run.internal.suberror", KvmRunLayout.InternalSuberror)]
    [InlineData("kvm_run.internal.ndata", KvmRunLayout.InternalNdata)]
    [InlineData("kvm_run.internal.data", KvmRunLayout.InternalData)]
    [InlineData("kvm_run.emulation_failure.flags", KvmRunLayout.EmulationFlags)]
    [InlineData("kvm_run.emulation_failure.insn_size", KvmRunLayout.EmulationInsnSize)]
    [InlineData("kvm_run.emulation_failure.insn_bytes", KvmRunLayout.EmulationInsnBytes)]
    [InlineData("kvm_run.fail_entry.hardware_entry_failure_reason", KvmRunLayout.FailEntryReason)]
    [InlineData("kvm_run.system_event.type", KvmRunLayout.SystemEventType)]
    [InlineData("KVM_EXIT_IO_OUT", KvmRunLayout.IoDirectionOut)]
    [InlineData("KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES", KvmRunLayout.EmulationFlagInstructionBytes)]
    public void KvmRunLayoutMatchesTheHeader(string field, ulong ours) => Assert.Equal(Header.Value[field], ours);

    [Fact]
    public void StructSizesAndOffsetsMatchTheHeader()
    {
        Assert.Equal(Header.Value["sizeof.kvm_regs"], (ulong)Unsafe.SizeOf<KvmRegs>());
        Assert.Equal(Header.Value["sizeof.kvm_segment"], (ulong)Unsafe.SizeOf<KvmSegment>());
        Assert.Equal(Header.Value["sizeof.kvm_dtable"], (ulong)Unsafe.SizeOf<KvmDtable>());
        Assert.Equal(Header.Value["sizeof.kvm_sregs"], (ulong)Unsafe.SizeOf<KvmSregs>());
        Assert.Equal(Header.Value["sizeof.kvm_userspace_memory_region"], (ulong)Unsafe.SizeOf<KvmUserspaceMemoryRegion>());
        Assert.Equal(Header.Value["sizeof.kvm_cpuid_entry2"], (ulong)Unsafe.SizeOf<KvmCpuidEntry2>());
        Assert.Equal(Header.Value["sizeof.kvm_msr_entry"], (ulong)Unsafe.SizeOf<KvmMsrEntry>());

        var sregs = default(KvmSregs);
        Assert.Equal(Header.Value["kvm_sregs.gdt"], OffsetOf(ref sregs, ref sregs.Gdt));
        Assert.Equal(Header.Value["kvm_sregs.cr0"], OffsetOf(ref sregs, ref sregs.Cr0));
        Assert.Equal(Header.Value["kvm_sregs.efer"], OffsetOf(ref sregs, ref sregs.Efer));
        Assert.Equal(Header.Value["kvm_sregs.interrupt_bitmap"], OffsetOf(ref sregs, ref Unsafe.As<KvmSregs.InterruptBitmap, ulong>(ref sregs.Interrupts)));
        var regs = default(KvmRegs);
        Assert.Equal(Header.Value["kvm_regs.rip"], OffsetOf(ref regs, ref regs.Rip));
    }

    [Fact]
    public void CheckpointStructsMatchTheHeader()
    {
        Assert.Equal(Header.Value["sizeof.kvm_fpu"], (ulong)Unsafe.SizeOf<KvmFpu>());
        Assert.Equal(Header.Value["sizeof.kvm_xsave"], (ulong)Unsafe.SizeOf<KvmXsave>());
        Assert.Equal(Header.Value["sizeof.kvm_xcrs"], (ulong)Unsafe.SizeOf<KvmXcrs>());
        Assert.Equal(Header.Value["sizeof.kvm_lapic_state"], (ulong)Unsafe.SizeOf<KvmLapicState>());
        Assert.Equal(Header.Value["sizeof.kvm_vcpu_events"], (ulong)Unsafe.SizeOf<KvmVcpuEvents>());
        Assert.Equal(Header.Value["sizeof.kvm_debugregs"], (ulong)Unsafe.SizeOf<KvmDebugRegs>());
        Assert.Equal(Header.Value["sizeof.kvm_clock_data"], (ulong)Unsafe.SizeOf<KvmClockData>());
        Assert.Equal(Header.Value["sizeof.kvm_irqchip"], (ulong)Unsafe.SizeOf<KvmIrqchip>());
        var clock = default(KvmClockData);
        Assert.Equal(Header.Value["kvm_clock_data.flags"], OffsetOf(ref clock, ref clock.Flags));
        Assert.Equal(8ul, Header.Value["kvm_irqchip.chip"]);
        Assert.Equal(KvmIrqchip.PicMaster, Header.Value["KVM_IRQCHIP_PIC_MASTER"]);
        Assert.Equal(KvmIrqchip.PicSlave, Header.Value["KVM_IRQCHIP_PIC_SLAVE"]);
        Assert.Equal(KvmIrqchip.Ioapic, Header.Value["KVM_IRQCHIP_IOAPIC"]);
    }

    [Theory]
    [InlineData("KVM_GET_MSR_INDEX_LIST", nameof(KvmIoctls.GetMsrIndexList))]
    [InlineData("KVM_GET_IRQCHIP", nameof(KvmIoctls.GetIrqchip))]
    [InlineData("KVM_SET_IRQCHIP", nameof(KvmIoctls.SetIrqchip))]
    [InlineData("KVM_GET_CLOCK", nameof(KvmIoctls.GetClock))]
    [InlineData("KVM_SET_CLOCK", nameof(KvmIoctls.SetClock))]
    [InlineData("KVM_GET_MSRS", nameof(KvmIoctls.GetMsrs))]
    [InlineData("KVM_GET_FPU", nameof(KvmIoctls.GetFpu))]
    [InlineData("KVM_SET_FPU", nameof(KvmIoctls.SetFpu))]
    [InlineData("KVM_GET_LAPIC", nameof(KvmIoctls.GetLapic))]
    [InlineData("KVM_SET_LAPIC", nameof(KvmIoctls.SetLapic))]
    [InlineData("KVM_GET_CPUID2", nameof(KvmIoctls.GetCpuid2))]
    [InlineData("KVM_SET_MP_STATE", nameof(KvmIoctls.SetMpState))]
    [InlineData("KVM_GET_VCPU_EVENTS", nameof(KvmIoctls.GetVcpuEvents))]
    [InlineData("KVM_SET_VCPU_EVENTS", nameof(KvmIoctls.SetVcpuEvents))]
    [InlineData("KVM_GET_DEBUGREGS", nameof(KvmIoctls.GetDebugRegs))]
    [InlineData("KVM_SET_DEBUGREGS", nameof(KvmIoctls.SetDebugRegs))]
    [InlineData("KVM_GET_XSAVE", nameof(KvmIoctls.GetXsave))]
    [InlineData("KVM_SET_XSAVE", nameof(KvmIoctls.SetXsave))]
    [InlineData("KVM_GET_XCRS", nameof(KvmIoctls.GetXcrs))]
    [InlineData("KVM_SET_XCRS", nameof(KvmIoctls.SetXcrs))]
    public void CheckpointIoctlNumbersAreTheHeaders(string macro, string field)
        => Assert.Equal(Header.Value[macro], (ulong)(nuint)typeof(KvmIoctls).GetField(field)!.GetValue(null)!);

    [Fact]
    public void IoeventfdAndIrqfdMatchTheHeader()
    {
        Assert.Equal(Header.Value["sizeof.kvm_ioeventfd"], (ulong)Unsafe.SizeOf<KvmIoeventfd>());
        Assert.Equal(Header.Value["sizeof.kvm_irqfd"], (ulong)Unsafe.SizeOf<KvmIrqfd>());
        var ioeventfd = default(KvmIoeventfd);
        Assert.Equal(Header.Value["kvm_ioeventfd.addr"], OffsetOf(ref ioeventfd, ref ioeventfd.Address));
        Assert.Equal(Header.Value["kvm_ioeventfd.len"], OffsetOf(ref ioeventfd, ref ioeventfd.Length));
        Assert.Equal(Header.Value["kvm_ioeventfd.fd"], OffsetOf(ref ioeventfd, ref ioeventfd.Fd));
        Assert.Equal(Header.Value["kvm_ioeventfd.flags"], OffsetOf(ref ioeventfd, ref ioeventfd.Flags));
        var irqfd = default(KvmIrqfd);
        Assert.Equal(Header.Value["kvm_irqfd.gsi"], OffsetOf(ref irqfd, ref irqfd.Gsi));
        Assert.Equal(Header.Value["KVM_IOEVENTFD"], (ulong)KvmIoctls.Ioeventfd);
        Assert.Equal(Header.Value["KVM_IRQFD"], (ulong)KvmIoctls.Irqfd);
        Assert.Equal((ulong)KvmIoeventfd.FlagDatamatch, Header.Value["KVM_IOEVENTFD_FLAG_DATAMATCH"]);
        Assert.Equal((ulong)KvmCapability.Ioeventfd, Header.Value["KVM_CAP_IOEVENTFD"]);
        Assert.Equal((ulong)KvmCapability.Irqfd, Header.Value["KVM_CAP_IRQFD"]);
    }

    [Fact]
    public void EveryExitReasonCodeIsTheHeadersKvmExitConstant()
    {
        foreach (var code in Enum.GetValues<KvmExitReasonCode>())
        {
            // IrqWindowOpen -> KVM_EXIT_IRQ_WINDOW_OPEN
            var name = "KVM_EXIT_" + Regex.Replace(code.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant();
            Assert.True(Header.Value.TryGetValue(name, out var value), $"kvm_layout.c does not print {name}");
            Assert.Equal(value, (ulong)code);
        }
    }

    private static ulong OffsetOf<TStruct, TField>(ref TStruct owner, ref TField field)
        => (ulong)Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref owner), ref Unsafe.As<TField, byte>(ref field));

    private static IReadOnlyDictionary<string, ulong> CompileAndRun()
    {
        var gcc = HostTools.Require("gcc");
        var source = Path.Combine(AppContext.BaseDirectory, "Kvm", "kvm_layout.c");
        var program = Path.Combine(Path.GetTempPath(), $"pvhvm-kvm-layout-{Environment.ProcessId}");
        try
        {
            try
            {
                DebianKernelFixture.Run(gcc, ["-Wall", "-Werror", "-o", program, source], TimeSpan.FromMinutes(2));
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException(
                    $"gcc could not compile {source} (is linux/kvm.h from linux-libc-dev installed? Run {HostTools.PrerequisitesScript}): {e.Message}", e);
            }

            var (output, _) = DebianKernelFixture.Run(program, [], TimeSpan.FromMinutes(1));
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('='))
                .ToDictionary(pair => pair[0], pair => ulong.Parse(pair[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(program);
        }
    }
}
