# probe.S - the built-in PvhVm probe guest: prints the hvm_start_info it was booted with, then resets.
# Shipped in the module as guests/probe.elf (ELF64); tests also build it as ELF32 (probe32.elf).
#
# Output contract (COM1, one item per line, "\r\n" line ends; %u decimal, %0Nx lower-case hex):
#   PVH probe: start_info at 0x%08x
#   magic=0x%08x version=%u flags=0x%08x
#   cmdline=<the NUL-terminated command line, at most 4096 bytes> | cmdline=(none) | cmdline=(above 4G)
#   rsdp=0x%016x
#   modules=%u
#   module[%u] paddr=0x%016x size=0x%016x          (one per module, at most the first 128)
#   memmap_entries=%u                               (0 when version is 0: the field does not exist)
#   memmap[%u] addr=0x%016x size=0x%016x type=%u    (one per entry, at most the first 128)
#   probe done
# then the i8042 reset. A list whose address is above 4 GiB (unreachable without paging) prints its
# count and no entries. If magic is not 0x336ec578 it prints only the first line and
#   bad magic 0x%08x
# and resets.

        .include "pvh.inc"

        .set MAX_LIST_ENTRIES, 128
        .set MAX_CMDLINE,      4096

        .text
main:
        mov start_info_paddr, %ebx
        PUTS "PVH probe: start_info at 0x"
        mov %ebx, %eax
        call put_hex32
        NEWLINE

        mov SI_MAGIC(%ebx), %eax
        cmp $HVM_START_MAGIC, %eax
        je 1f
        PUTS "bad magic 0x"
        call put_hex32
        NEWLINE
        ret

1:      PUTS "magic=0x"
        call put_hex32
        PUTS " version="
        mov SI_VERSION(%ebx), %eax
        call put_dec
        PUTS " flags=0x"
        mov SI_FLAGS(%ebx), %eax
        call put_hex32
        NEWLINE

        call print_cmdline

        PUTS "rsdp=0x"
        mov SI_RSDP_PADDR(%ebx), %eax
        mov SI_RSDP_PADDR+4(%ebx), %edx
        call put_hex64
        NEWLINE

        call print_modules
        call print_memmap
        PUTLN "probe done"
        ret

# print_cmdline: EBX = start_info.
print_cmdline:
        PUTS "cmdline="
        mov SI_CMDLINE_PADDR(%ebx), %esi
        cmpl $0, SI_CMDLINE_PADDR+4(%ebx)
        jne 2f
        test %esi, %esi
        jz 1f
        mov $MAX_CMDLINE, %ecx
        call uart_puts_bounded
        NEWLINE
        ret
1:      PUTLN "(none)"
        ret
2:      PUTLN "(above 4G)"
        ret

# print_modules: EBX = start_info.
print_modules:
        PUTS "modules="
        mov SI_NR_MODULES(%ebx), %ecx
        mov %ecx, %eax
        call put_dec
        NEWLINE
        cmpl $0, SI_MODLIST_PADDR+4(%ebx)
        jne 3f
        mov SI_MODLIST_PADDR(%ebx), %esi
        call clamp_list
        xor %edi, %edi                  # index
1:      cmp %ecx, %edi
        jae 3f
        PUTS "module["
        mov %edi, %eax
        call put_dec
        PUTS "] paddr=0x"
        mov MOD_PADDR(%esi), %eax
        mov MOD_PADDR+4(%esi), %edx
        call put_hex64
        PUTS " size=0x"
        mov MOD_SIZE(%esi), %eax
        mov MOD_SIZE+4(%esi), %edx
        call put_hex64
        NEWLINE
        add $MOD_ENTRY_SIZE, %esi
        inc %edi
        jmp 1b
3:      ret

# print_memmap: EBX = start_info. The memory map exists from version 1 on.
print_memmap:
        xor %ecx, %ecx
        cmpl $1, SI_VERSION(%ebx)
        jb 1f
        mov SI_MEMMAP_ENTRIES(%ebx), %ecx
1:      PUTS "memmap_entries="
        mov %ecx, %eax
        call put_dec
        NEWLINE
        test %ecx, %ecx
        jz 3f
        cmpl $0, SI_MEMMAP_PADDR+4(%ebx)
        jne 3f
        mov SI_MEMMAP_PADDR(%ebx), %esi
        call clamp_list
        xor %edi, %edi
2:      cmp %ecx, %edi
        jae 3f
        PUTS "memmap["
        mov %edi, %eax
        call put_dec
        PUTS "] addr=0x"
        mov MEMMAP_ADDR(%esi), %eax
        mov MEMMAP_ADDR+4(%esi), %edx
        call put_hex64
        PUTS " size=0x"
        mov MEMMAP_SIZE(%esi), %eax
        mov MEMMAP_SIZE+4(%esi), %edx
        call put_hex64
        PUTS " type="
        mov MEMMAP_TYPE(%esi), %eax
        call put_dec
        NEWLINE
        add $MEMMAP_ENTRY_SIZE, %esi
        inc %edi
        jmp 2b
3:      ret

# clamp_list: ESI = list address, ECX = entry count -> ECX = entries to print (0 for a null list, at most 128).
clamp_list:
        test %esi, %esi
        jnz 1f
        xor %ecx, %ecx
1:      cmp $MAX_LIST_ENTRIES, %ecx
        jbe 2f
        mov $MAX_LIST_ENTRIES, %ecx
2:      ret
