# triplefault.S - prints one line, then executes ud2 with a zero-limit IDT: the exception cannot be delivered,
# nor can the double fault, so the CPU shuts down (KVM_EXIT_SHUTDOWN).
#
# Output contract (COM1, "\r\n" line ends):
#   faulting
# and nothing after it.

        .include "pvh.inc"

        .text
main:
        PUTLN "faulting"
        lidt empty_idt
        ud2                             # #UD; not int3, which this host's KVM cannot emulate
1:      cli                             # never reached: a halt here tells "no fault" from a shutdown
        hlt
        jmp 1b

        .section .rodata
        .balign 8
empty_idt:
        .word 0                         # limit 0: every vector lies outside the IDT
        .long 0
