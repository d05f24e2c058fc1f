# acpi.S - walks the ACPI tables named by hvm_start_info.rsdp_paddr and prints what the MADT declares.
#
# Output contract (COM1, "\r\n" line ends):
#   rsdp at 0x%08x revision=%u
#   xsdt at 0x%08x entries=%u                       ("rsdt at ..." when the RSDP revision is below 2)
#   table XXXX at 0x%08x len=%u                     (each root-table entry, at most 128;
#                                                    "table above 4G" for one it cannot reach)
#   madt lapic=0x%08x
#   cpu apic_id=%u flags=%u                         (each Processor Local APIC entry, in table order)
#   ioapic id=%u addr=0x%08x gsi_base=%u            (each I/O APIC entry, in table order)
#   acpi done
# then the i8042 reset. On a problem it prints one of
#   acpi error: no rsdp | acpi error: bad rsdp signature | acpi error: bad root table | acpi error: no madt
# instead of the rest (no "acpi done") and resets.

        .include "pvh.inc"
        .include "acpi.inc"

        .text
main:
        call acpi_init
        jc error

        PUTS "rsdp at 0x"
        mov acpi_rsdp, %esi
        mov %esi, %eax
        call put_hex32
        PUTS " revision="
        movzbl RSDP_REVISION(%esi), %eax
        call put_dec
        NEWLINE

        mov acpi_root, %esi
        call print_lower_signature
        PUTS " at 0x"
        mov %esi, %eax
        call put_hex32
        PUTS " entries="
        mov acpi_table_count, %eax
        call put_dec
        NEWLINE

        call print_tables

        mov $SIG_APIC, %eax
        call acpi_find_table
        test %eax, %eax
        jz no_madt
        mov %eax, %esi
        call print_madt
        PUTLN "acpi done"
        ret

no_madt:
        mov $msg_no_madt, %esi
error:
        PUTS "acpi error: "
        call uart_puts
        NEWLINE
        ret

# print_lower_signature: ESI = table; prints its 4-byte signature in lower case ("xsdt").
print_lower_signature:
        push %eax
        push %ecx
        push %esi
        mov $4, %ecx
1:      lodsb
        or $0x20, %al
        call uart_putc
        dec %ecx
        jnz 1b
        pop %esi
        pop %ecx
        pop %eax
        ret

print_tables:
        xor %ecx, %ecx
1:      cmp acpi_table_count, %ecx
        jae 4f
        call acpi_table_at
        test %eax, %eax
        jnz 2f
        PUTLN "table above 4G"
        jmp 3f
2:      mov %eax, %esi
        PUTS "table "
        push %ecx
        mov $4, %ecx
        call uart_puts_bounded
        pop %ecx
        PUTS " at 0x"
        call put_hex32
        PUTS " len="
        mov SDT_LENGTH(%esi), %eax
        call put_dec
        NEWLINE
3:      inc %ecx
        jmp 1b
4:      ret

# print_madt: ESI = MADT.
print_madt:
        PUTS "madt lapic=0x"
        mov MADT_LAPIC_ADDRESS(%esi), %eax
        call put_hex32
        NEWLINE
        xor %edi, %edi
1:      call madt_next
        test %edi, %edi
        jz 4f
        cmpb $MADT_TYPE_LAPIC, (%edi)
        jne 2f
        PUTS "cpu apic_id="
        movzbl 3(%edi), %eax
        call put_dec
        PUTS " flags="
        mov 4(%edi), %eax
        call put_dec
        NEWLINE
        jmp 1b
2:      cmpb $MADT_TYPE_IOAPIC, (%edi)
        jne 1b
        PUTS "ioapic id="
        movzbl 2(%edi), %eax
        call put_dec
        PUTS " addr=0x"
        mov 4(%edi), %eax
        call put_hex32
        PUTS " gsi_base="
        mov 8(%edi), %eax
        call put_dec
        NEWLINE
        jmp 1b
4:      ret

        .section .rodata
msg_no_madt: .asciz "no madt"
