# poweroff.S - powers the machine off as an ACPI OS does on a hardware-reduced platform: finds the FADT, checks
# that its SLEEP_CONTROL_REG is a byte register in system I/O space, and writes SLP_TYP 5 (the DSDT's \_S5_
# package) with SLP_EN (bit 5) to it.
#
# Output contract (COM1, "\r\n" line ends):
#   poweroff sleep control port 0x%04x
# then the write, which should end the VM. Should the guest still run, it prints "poweroff failed" and resets
# through the i8042. On a problem it prints "poweroff error: <reason>" and resets.

        .include "pvh.inc"
        .include "acpi.inc"

        .set SIG_FACP,              0x50434146      # "FACP"
        .set FADT_MINIMUM_LENGTH,   256             # up to and including SLEEP_CONTROL_REG
        .set FADT_SLEEP_CONTROL,    244             # Generic Address Structure
        .set GAS_SPACE_ID,          0
        .set GAS_BIT_WIDTH,         1
        .set GAS_ADDRESS,           4
        .set GAS_SYSTEM_IO,         1
        .set S5_SLEEP_VALUE,        (5 << 2) | (1 << 5)

        .text
main:
        call acpi_init
        jc error

        mov $SIG_FACP, %eax
        call acpi_find_table
        mov $msg_no_fadt, %esi
        test %eax, %eax
        jz error
        mov %eax, %ebx
        mov $msg_short_fadt, %esi
        cmpl $FADT_MINIMUM_LENGTH, SDT_LENGTH(%ebx)
        jb error
        mov $msg_not_io, %esi
        cmpb $GAS_SYSTEM_IO, FADT_SLEEP_CONTROL+GAS_SPACE_ID(%ebx)
        jne error
        cmpb $8, FADT_SLEEP_CONTROL+GAS_BIT_WIDTH(%ebx)
        jne error
        cmpl $0, FADT_SLEEP_CONTROL+GAS_ADDRESS+4(%ebx)
        jne error
        mov FADT_SLEEP_CONTROL+GAS_ADDRESS(%ebx), %edx
        cmp $0xffff, %edx
        ja error

        PUTS "poweroff sleep control port 0x"
        mov %edx, %eax
        mov $4, %ecx
        call put_hex
        NEWLINE

        mov FADT_SLEEP_CONTROL+GAS_ADDRESS(%ebx), %edx
        mov $S5_SLEEP_VALUE, %al
        out %al, (%dx)
        PUTLN "poweroff failed"
        ret

error:
        PUTS "poweroff error: "
        call uart_puts
        NEWLINE
        ret

        .section .rodata
msg_no_fadt:    .asciz "no fadt"
msg_short_fadt: .asciz "fadt too short"
msg_not_io:     .asciz "sleep control is not a byte i/o port"
