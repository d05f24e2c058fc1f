# ports.S - touches ports and MMIO that no device claims and prints what comes back.
# A VMM should answer every unclaimed read with all ones and ignore unclaimed writes.
#
# Output contract (COM1, "\r\n" line ends; values zero-extended to 32 bits):
#   port 0x0080=0x%08x            (inb:  all ones reads 0x000000ff)
#   port 0x0510=0x%08x            (inw:  all ones reads 0x0000ffff)
#   port 0x0cf8=0x%08x            (inl:  all ones reads 0xffffffff)
#   port 0x0cf8<=0x80000000       (outl: a PCI configuration address, to a machine without PCI)
#   port 0x0cfc=0x%08x            (inl)
#   mmio 0xd0000000=0x%08x        (32-bit load from the hole below 4 GiB / above the RAM)
#   ports done
# then the i8042 reset.

        .include "pvh.inc"

        .set UNCLAIMED_MMIO, 0xd0000000

        .text
main:
        mov $0x80, %edx
        xor %eax, %eax
        in (%dx), %al
        call print_port

        mov $0x510, %edx
        xor %eax, %eax
        in (%dx), %ax
        call print_port

        mov $0xcf8, %edx
        in (%dx), %eax
        call print_port

        mov $0x80000000, %eax
        out %eax, (%dx)
        PUTLN "port 0x0cf8<=0x80000000"

        mov $0xcfc, %edx
        in (%dx), %eax
        call print_port

        PUTS "mmio 0xd0000000=0x"
        mov UNCLAIMED_MMIO, %eax
        call put_hex32
        NEWLINE
        PUTLN "ports done"
        ret

# print_port: EDX = port, EAX = value read.
print_port:
        PUTS "port 0x"
        push %eax
        push %ecx
        mov %edx, %eax
        mov $4, %ecx
        call put_hex
        pop %ecx
        pop %eax
        PUTS "=0x"
        call put_hex32
        NEWLINE
        ret
