# notes.S - a guest whose image carries the notes a Linux kernel carries (Xen, GNU, Linux owners, every
# descriptor shape the reader decodes) and a Linux banner in .rodata: a rich seed for the image fuzzer.
# It boots like any probe guest (pvh.inc adds the PVH entry note).
#
# Output contract (COM1, "\r\n" line ends):
#   notes
# then the i8042 reset.

        .include "pvh.inc"

# NOTE owner, type: opens a note; the descriptor follows, then NOTE_END.
        .macro NOTE owner, type
        .pushsection .note.Xen, "a", @note
        .balign 4
        .long 2f - 1f
        .long 4f - 3f
        .long \type
1:      .asciz "\owner"
2:      .balign 4
3:
        .endm

        .macro NOTE_END
4:      .balign 4
        .popsection
        .endm

        NOTE "Xen", 6                   # GUEST_OS
        .asciz "linux"
        NOTE_END
        NOTE "Xen", 7                   # GUEST_VERSION
        .asciz "2.6"
        NOTE_END
        NOTE "Xen", 3                   # VIRT_BASE
        .quad 0xffffffff80000000
        NOTE_END
        NOTE "Xen", 10                  # FEATURES
        .asciz "!writable_page_tables|pae_pgdir_above_4gb"
        NOTE_END
        NOTE "Xen", 17                  # SUPPORTED_FEATURES
        .long 0x00000801
        NOTE_END
        NOTE "Xen", 13                  # L1_MFN_VALID: mask/value pairs
        .quad 0x1, 0x1
        NOTE_END
        NOTE "Xen", 19                  # PHYS32_RELOC: align, min, max
        .long 0x200000, 0x1000000, 0x40000000
        NOTE_END
        NOTE "GNU", 3                   # NT_GNU_BUILD_ID
        .byte 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
        NOTE_END
        NOTE "GNU", 1                   # NT_GNU_ABI_TAG
        .long 0, 2, 6, 32
        NOTE_END
        NOTE "Linux", 0x100             # LINUX_ELFNOTE_BUILD_SALT
        .asciz "6.1.0-notes"
        NOTE_END
        NOTE "Linux", 0x101             # LINUX_ELFNOTE_LTO_INFO
        .long 0
        NOTE_END

        .section .rodata
        .asciz "Linux version %s (format string, not the banner)"
        .asciz "Linux version 6.1.0-notes (fuzz@pvhvm) #1 SMP PREEMPT_DYNAMIC\n"

        .text
main:
        PUTLN "notes"
        ret
