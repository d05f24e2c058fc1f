# smp.S - brings up every application processor the MADT lists, with INIT-SIPI-SIPI.
#
# The BSP reads the enabled Processor Local APIC entries of the MADT (acpi.inc), enables its local
# APIC and sends each other APIC id INIT, then SIPI twice (Intel MP spec), vector 0x9A: the APs start
# in real mode at 0x9A000, a trampoline in its own PT_LOAD segment, which enters 32-bit protected
# mode with its own GDT and jumps into the image at 1 MiB. Every CPU prints its line under a spinlock.
#
# Output contract (COM1, "\r\n" line ends; the AP lines come in any order):
#   cpu %u online                 (the BSP first, then each AP; %u = local APIC id, LAPIC ID >> 24)
#   smp done cpus=%u              (CPUs that came online, the BSP included)
# then the i8042 reset. If not all listed CPUs arrive within about a second or more (TSC-timed):
#   smp timeout cpus=%u expected=%u
# On an ACPI problem: "acpi error: <reason>" as in acpi.S, and reset.

        .include "pvh.inc"
        .include "acpi.inc"

        .set LAPIC_BASE,        0xfee00000
        .set LAPIC_ID,          LAPIC_BASE + 0x20
        .set LAPIC_SVR,         LAPIC_BASE + 0xf0
        .set LAPIC_ICR_LOW,     LAPIC_BASE + 0x300
        .set LAPIC_ICR_HIGH,    LAPIC_BASE + 0x310
        .set SVR_ENABLE,        0x100
        .set SPURIOUS_VECTOR,   0xff
        .set ICR_INIT_ASSERT,   0x0000c500      # INIT, level triggered, assert
        .set ICR_INIT_DEASSERT, 0x00008500      # INIT, level triggered, de-assert
        .set ICR_STARTUP,       0x00004600      # Start-up IPI, assert; low byte = vector
        .set ICR_BUSY,          0x1000          # delivery status: send pending
        .set ICR_POLL_LIMIT,    100000
        .set MADT_LAPIC_ENABLED, 1
        .set TRAMPOLINE_PADDR,  0x9a000
        .set SIPI_VECTOR,       TRAMPOLINE_PADDR >> 12
        .set MAX_APS,           15
        .set AP_STACK_SIZE,     1024
        .set TICKS_INIT_WAIT,   30000000        # >= 10 ms on CPUs up to 3 GHz
        .set TICKS_SIPI_WAIT,   1000000         # >= 200 us on CPUs up to 5 GHz
        .set TIMEOUT_TICKS_HIGH, 1              # all APs within 2^32 TSC ticks (>= 1 s at up to 4 GHz)

        .set AP_CODE_SELECTOR,  0x08
        .set AP_DATA_SELECTOR,  0x10

        .text
main:
        call acpi_init
        jc acpi_error
        mov $SIG_APIC, %eax
        call acpi_find_table
        test %eax, %eax
        jz no_madt
        mov %eax, %esi

        orl $(SVR_ENABLE | SPURIOUS_VECTOR), LAPIC_SVR
        call lapic_id
        mov %eax, %ebx                  # EBX = the BSP's APIC id
        movl $1, cpus_online
        call print_online

        movl $1, cpus_expected
        xor %edi, %edi
1:      call madt_next
        test %edi, %edi
        jz 2f
        cmpb $MADT_TYPE_LAPIC, (%edi)
        jne 1b
        testl $MADT_LAPIC_ENABLED, 4(%edi)
        jz 1b
        movzbl 3(%edi), %eax
        cmp %ebx, %eax
        je 1b
        cmpl $(MAX_APS + 1), cpus_expected
        jae 2f
        incl cpus_expected
        call start_ap
        jmp 1b

2:      call wait_for_aps
        call console_lock
        mov cpus_online, %eax
        cmp cpus_expected, %eax
        jne 3f
        PUTS "smp done cpus="
        call put_dec
        NEWLINE
        jmp 4f
3:      PUTS "smp timeout cpus="
        call put_dec
        PUTS " expected="
        mov cpus_expected, %eax
        call put_dec
        NEWLINE
4:      call console_unlock
        ret

no_madt:
        mov $msg_no_madt, %esi
acpi_error:
        PUTS "acpi error: "
        call uart_puts
        NEWLINE
        ret

# start_ap: EAX = APIC id. INIT, wait 10 ms, then SIPI twice, 200 us apart.
start_ap:
        push %eax
        push %ecx
        push %edx
        mov %eax, %edx
        shl $24, %edx
        mov $ICR_INIT_ASSERT, %eax
        call send_ipi
        mov $ICR_INIT_DEASSERT, %eax
        call send_ipi
        mov $TICKS_INIT_WAIT, %eax
        call tsc_delay
        mov $2, %ecx
1:      mov $(ICR_STARTUP | SIPI_VECTOR), %eax
        call send_ipi
        mov $TICKS_SIPI_WAIT, %eax
        call tsc_delay
        dec %ecx
        jnz 1b
        pop %edx
        pop %ecx
        pop %eax
        ret

# send_ipi: EDX = ICR high (destination << 24), EAX = ICR low. Waits (bounded) until it is sent.
send_ipi:
        push %ecx
        mov %edx, LAPIC_ICR_HIGH
        mov %eax, LAPIC_ICR_LOW
        mov $ICR_POLL_LIMIT, %ecx
1:      testl $ICR_BUSY, LAPIC_ICR_LOW
        jz 2f
        pause
        dec %ecx
        jnz 1b
2:      pop %ecx
        ret

# tsc_delay: EAX = TSC ticks to wait (< 2^32).
tsc_delay:
        push %eax
        push %ecx
        push %edx
        mov %eax, %ecx
        rdtsc
        mov %eax, tsc_start
1:      pause
        rdtsc
        sub tsc_start, %eax
        cmp %ecx, %eax
        jb 1b
        pop %edx
        pop %ecx
        pop %eax
        ret

# wait_for_aps: spins until cpus_online == cpus_expected or TIMEOUT_TICKS_HIGH * 2^32 TSC ticks pass.
wait_for_aps:
        push %eax
        push %ecx
        push %edx
        rdtsc
        mov %eax, %ecx
        add $TIMEOUT_TICKS_HIGH, %edx   # EDX:ECX = deadline
1:      mov cpus_online, %eax
        cmp cpus_expected, %eax
        jae 2f
        pause
        push %edx
        rdtsc
        cmp (%esp), %edx                # compare EDX:EAX (now) with the deadline
        pop %edx
        jb 1b
        ja 2f
        cmp %ecx, %eax
        jb 1b
2:      pop %edx
        pop %ecx
        pop %eax
        ret

# lapic_id: -> EAX = this CPU's local APIC id.
lapic_id:
        mov LAPIC_ID, %eax
        shr $24, %eax
        ret

# print_online: EAX = APIC id; prints "cpu %u online" under the console lock.
print_online:
        call console_lock
        PUTS "cpu "
        call put_dec
        PUTLN " online"
        call console_unlock
        ret

console_lock:
        push %eax
1:      mov $1, %eax
        xchg %eax, console_lock_word    # xchg with memory is implicitly locked
        test %eax, %eax
        jz 3f
2:      pause
        cmpl $0, console_lock_word
        jne 2b
        jmp 1b
3:      pop %eax
        ret

console_unlock:
        movl $0, console_lock_word
        ret

# ap_main: every AP arrives here from the trampoline, in 32-bit protected mode with flat segments.
ap_main:
        mov $1, %eax
        lock xadd %eax, ap_slots_taken
        cmp $MAX_APS, %eax
        jae ap_park                     # no stack for it; it never counts as online
        inc %eax
        imul $AP_STACK_SIZE, %eax
        lea ap_stacks(%eax), %esp
        call lapic_id
        call print_online
        lock incl cpus_online
ap_park:
        cli
        hlt
        jmp ap_park

        .section .rodata
msg_no_madt: .asciz "no madt"

        .section .bss
        .balign 16
ap_stacks:
        .skip MAX_APS * AP_STACK_SIZE
        .balign 4
cpus_online:       .skip 4
cpus_expected:     .skip 4
ap_slots_taken:    .skip 4
console_lock_word: .skip 4
tsc_start:         .skip 4

# The real-mode trampoline: its own PT_LOAD at 0x9A000. CS = 0x9A00, IP = 0 on SIPI vector 0x9A.
        .section .trampoline, "awx"
        .code16
ap_trampoline:
        cli
        cld
        mov %cs, %ax
        mov %ax, %ds
        lgdtl ap_gdt_descriptor - ap_trampoline
        mov %cr0, %eax
        or $1, %eax                     # PE
        mov %eax, %cr0
        ljmpl $AP_CODE_SELECTOR, $ap_protected

        .code32
ap_protected:
        mov $AP_DATA_SELECTOR, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        jmp ap_main

        .balign 8
ap_gdt:
        .quad 0                         # null
        .quad 0x00cf9a000000ffff        # 0x08: flat 32-bit code, execute/read
        .quad 0x00cf92000000ffff        # 0x10: flat 32-bit data, read/write
ap_gdt_end:
ap_gdt_descriptor:
        .word ap_gdt_end - ap_gdt - 1
        .long ap_gdt

        .text
