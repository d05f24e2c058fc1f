# mmioflood.S - writes outside its RAM, reads the same addresses back, then reads the MMIO hole forever:
# one VM exit per load. Nothing backs those addresses, so reads must come back all ones and writes vanish.
#
# Output contract (COM1, "\r\n" line ends):
#   wild 0xb0000000=0x%08x        (above the RAM of any guest under 2.75 GiB, below the hole)
#   wild 0xd0000000=0x%08x        (the MMIO hole)
#   wild 0xfffffffc=0x%08x        (the last dword below 4 GiB)
#   mmioflood
# then loads from 0xd0000000 without end.

        .include "pvh.inc"

        .text
main:
        mov $0xb0000000, %ebx
        call poke
        mov $0xd0000000, %ebx
        call poke
        mov $0xfffffffc, %ebx
        call poke
        PUTLN "mmioflood"
        mov $0xd0000000, %ebx
1:      mov (%ebx), %eax
        jmp 1b

# poke: EBX = address; stores a pattern there, loads it back and prints what came back.
poke:
        movl $0x12345678, (%ebx)
        mov (%ebx), %ecx
        PUTS "wild 0x"
        mov %ebx, %eax
        call put_hex32
        PUTS "=0x"
        mov %ecx, %eax
        call put_hex32
        NEWLINE
        ret
