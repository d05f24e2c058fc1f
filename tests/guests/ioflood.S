# ioflood.S - prints one line, then reads a port no device claims, forever: one VM exit per instruction.
# The host must keep up, count the accesses without logging each one, and still stop the VM at once.
#
# Output contract (COM1, "\r\n" line ends):
#   ioflood

        .include "pvh.inc"

        .set UNCLAIMED_PORT, 0x2f0

        .text
main:
        PUTLN "ioflood"
        mov $UNCLAIMED_PORT, %edx
1:      in (%dx), %al
        jmp 1b
