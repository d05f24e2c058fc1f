# counter.S - counts forever and prints each count with the guest's kvm-clock time: the proof guest for pause,
# checkpoint, restore and clones (a restored count goes on with no gap and no repeat; a paused clock does not jump).
#
# Output contract (COM1, "\r\n" line ends):
#   count 0 ms 12
#   count 1 ms 12
#   ...                           (count up by one, forever; ms = kvm-clock in milliseconds, read by the guest)
#
# The clock: the guest registers a pvclock page with MSR_KVM_SYSTEM_TIME_NEW and computes, as Linux's pvclock does,
# system_time + ((rdtsc - tsc_timestamp) scaled by tsc_shift) * tsc_to_system_mul >> 32 nanoseconds.

        .include "pvh.inc"

        .set MSR_KVM_SYSTEM_TIME_NEW, 0x4b564d01
        .set NS_PER_MS, 1000000

        # struct pvclock_vcpu_time_info
        .set PVCLOCK_TSC_TIMESTAMP, 8
        .set PVCLOCK_SYSTEM_TIME, 16
        .set PVCLOCK_MUL, 24
        .set PVCLOCK_SHIFT, 28

        .text
main:
        mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx
        mov $pvclock, %eax
        or $1, %eax                     # bit 0: enabled
        xor %edx, %edx
        wrmsr
        xor %esi, %esi                  # ESI = the count
1:      PUTS "count "
        mov %esi, %eax
        call put_dec
        PUTS " ms "
        call clock_ms
        call put_dec
        NEWLINE
        inc %esi
        jmp 1b

# clock_ms: -> EAX = kvm-clock in milliseconds (low 32 bits). Clobbers ECX, EDX, EDI, EBX.
clock_ms:
        rdtsc
        sub pvclock + PVCLOCK_TSC_TIMESTAMP, %eax
        sbb pvclock + PVCLOCK_TSC_TIMESTAMP + 4, %edx
        movsbl pvclock + PVCLOCK_SHIFT, %ecx
        test %ecx, %ecx
        js 2f
        shld %cl, %eax, %edx
        shl %cl, %eax
        jmp 3f
2:      neg %ecx
        shrd %cl, %edx, %eax
        shr %cl, %edx
3:      mov %edx, %edi                  # delta (EDI:EAX) * mul >> 32 = hi * mul + (lo * mul >> 32)
        mull pvclock + PVCLOCK_MUL
        mov %edx, %ebx
        mov %edi, %eax
        mull pvclock + PVCLOCK_MUL
        add %ebx, %eax
        adc $0, %edx
        add pvclock + PVCLOCK_SYSTEM_TIME, %eax
        adc pvclock + PVCLOCK_SYSTEM_TIME + 4, %edx
        mov %eax, %edi                  # EDX:EAX nanoseconds / 1e6, in two 32-bit divisions
        mov %edx, %eax
        xor %edx, %edx
        mov $NS_PER_MS, %ecx
        div %ecx
        mov %edi, %eax
        div %ecx
        ret

        .section .bss
        .balign 64
pvclock: .skip 32
