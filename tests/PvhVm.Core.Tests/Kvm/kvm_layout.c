/* Prints, as name=value lines, the struct kvm_run offsets and the ABI sizes and constants PvhVm relies on, as
 * linux/kvm.h (Debian's linux-libc-dev) defines them. KvmLayoutTests compiles and runs it and compares. */
#include <stddef.h>
#include <stdio.h>
#include <linux/kvm.h>

#define OFFSET(type, field) printf(#type "." #field "=%zu\n", offsetof(struct type, field))
#define RUN(field) OFFSET(kvm_run, field)
#define SIZE(type) printf("sizeof." #type "=%zu\n", sizeof(struct type))
#define CONST(name) printf(#name "=%llu\n", (unsigned long long)(name))

int main(void)
{
    RUN(immediate_exit);
    RUN(exit_reason);
    RUN(io);
    RUN(io.direction);
    RUN(io.size);
    RUN(io.port);
    RUN(io.count);
    RUN(io.data_offset);
    RUN(mmio.phys_addr);
    RUN(mmio.data);
    RUN(mmio.len);
    RUN(mmio.is_write);
    RUN(internal.suberror);
    RUN(internal.ndata);
    RUN(internal.data);
    RUN(emulation_failure.flags);
    RUN(emulation_failure.insn_size);
    RUN(emulation_failure.insn_bytes);
    RUN(fail_entry.hardware_entry_failure_reason);
    RUN(system_event.type);

    OFFSET(kvm_regs, rip);
    OFFSET(kvm_sregs, gdt);
    OFFSET(kvm_sregs, cr0);
    OFFSET(kvm_sregs, efer);
    OFFSET(kvm_sregs, interrupt_bitmap);

    SIZE(kvm_regs);
    SIZE(kvm_segment);
    SIZE(kvm_dtable);
    SIZE(kvm_sregs);
    SIZE(kvm_userspace_memory_region);
    SIZE(kvm_cpuid_entry2);
    SIZE(kvm_msr_entry);
    SIZE(kvm_ioeventfd);
    SIZE(kvm_irqfd);
    OFFSET(kvm_ioeventfd, addr);
    OFFSET(kvm_ioeventfd, len);
    OFFSET(kvm_ioeventfd, fd);
    OFFSET(kvm_ioeventfd, flags);
    OFFSET(kvm_irqfd, gsi);
    CONST(KVM_IOEVENTFD);
    CONST(KVM_IRQFD);
    CONST(KVM_IOEVENTFD_FLAG_DATAMATCH);
    CONST(KVM_CAP_IOEVENTFD);
    CONST(KVM_CAP_IRQFD);

    /* Pause, checkpoint and restore. */
    SIZE(kvm_fpu);
    SIZE(kvm_xsave);
    SIZE(kvm_xcrs);
    SIZE(kvm_lapic_state);
    SIZE(kvm_vcpu_events);
    SIZE(kvm_debugregs);
    SIZE(kvm_clock_data);
    SIZE(kvm_irqchip);
    OFFSET(kvm_clock_data, flags);
    OFFSET(kvm_irqchip, chip);
    CONST(KVM_IRQCHIP_PIC_MASTER);
    CONST(KVM_IRQCHIP_PIC_SLAVE);
    CONST(KVM_IRQCHIP_IOAPIC);
    CONST(KVM_GET_MSR_INDEX_LIST);
    CONST(KVM_GET_IRQCHIP);
    CONST(KVM_SET_IRQCHIP);
    CONST(KVM_GET_CLOCK);
    CONST(KVM_SET_CLOCK);
    CONST(KVM_GET_MSRS);
    CONST(KVM_GET_FPU);
    CONST(KVM_SET_FPU);
    CONST(KVM_GET_LAPIC);
    CONST(KVM_SET_LAPIC);
    CONST(KVM_GET_CPUID2);
    CONST(KVM_SET_MP_STATE);
    CONST(KVM_GET_VCPU_EVENTS);
    CONST(KVM_SET_VCPU_EVENTS);
    CONST(KVM_GET_DEBUGREGS);
    CONST(KVM_SET_DEBUGREGS);
    CONST(KVM_GET_XSAVE);
    CONST(KVM_SET_XSAVE);
    CONST(KVM_GET_XCRS);
    CONST(KVM_SET_XCRS);

    CONST(KVM_EXIT_IO_OUT);
    CONST(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
    CONST(KVM_EXIT_UNKNOWN);
    CONST(KVM_EXIT_EXCEPTION);
    CONST(KVM_EXIT_IO);
    CONST(KVM_EXIT_HYPERCALL);
    CONST(KVM_EXIT_DEBUG);
    CONST(KVM_EXIT_HLT);
    CONST(KVM_EXIT_MMIO);
    CONST(KVM_EXIT_IRQ_WINDOW_OPEN);
    CONST(KVM_EXIT_SHUTDOWN);
    CONST(KVM_EXIT_FAIL_ENTRY);
    CONST(KVM_EXIT_INTR);
    CONST(KVM_EXIT_SET_TPR);
    CONST(KVM_EXIT_TPR_ACCESS);
    CONST(KVM_EXIT_NMI);
    CONST(KVM_EXIT_INTERNAL_ERROR);
    CONST(KVM_EXIT_SYSTEM_EVENT);
    return 0;
}
