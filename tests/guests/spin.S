# spin.S - prints one line, then spins forever without a single VM exit: the host must force-stop it.
#
# Output contract (COM1, "\r\n" line ends):
#   spinning

        .include "pvh.inc"

        .text
main:
        PUTLN "spinning"
1:      jmp 1b
