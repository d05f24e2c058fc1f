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
