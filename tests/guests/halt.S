# halt.S - prints one line, then halts with interrupts off, forever (re-halting should it ever wake).
#
# Output contract (COM1, "\r\n" line ends):
#   halting

        .include "pvh.inc"

        .text
main:
        PUTLN "halting"
1:      cli
        hlt
        jmp 1b
