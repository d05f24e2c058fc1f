# sleep.S - prints one line, then halts with interrupts enabled, forever. Nothing is set up to interrupt it,
# so it never wakes; with IF set the host cannot call it parked either: only a forced stop ends it.
#
# Output contract (COM1, "\r\n" line ends):
#   sleeping

        .include "pvh.inc"

        .text
main:
        PUTLN "sleeping"
        sti
1:      hlt
        jmp 1b
