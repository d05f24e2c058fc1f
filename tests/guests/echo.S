# echo.S - echoes what arrives on COM1 until told to stop; keeps a VM alive and interactive.
#
# Output contract (COM1, "\r\n" line ends):
#   echo ready                    (once, then it polls LSR bit 0 and echoes every received byte)
# Received bytes come back verbatim, except that a line end (CR, LF or CR LF) comes back as one "\r\n".
# On a received line that is exactly "exit", or on byte 0x04 (EOT, Ctrl-D), it prints
#   echo bye                      (on a line of its own)
# and resets through the i8042.

        .include "pvh.inc"

        .set EOT,           0x04
        .set NO_MATCH,      0xff        # line_matched once the line can no longer be "exit"

        .text
main:
        PUTLN "echo ready"
        xor %ebx, %ebx                  # BL = bytes of "exit" matched so far, BH = bytes on this line
        xor %edi, %edi                  # EDI = 1 if the previous byte was CR
1:      call uart_getc
        cmp $EOT, %al
        je 5f
        cmp $'\r', %al
        je 3f
        cmp $'\n', %al
        jne 2f
        test %edi, %edi                 # LF right after CR: that line end was echoed already
        jz 3f
        xor %edi, %edi
        jmp 1b

2:      xor %edi, %edi
        call uart_putc
        inc %bh
        jnz 21f
        dec %bh                         # saturate: only "is the line empty" matters
21:     movzbl %bl, %ecx
        cmp $4, %ecx
        jae 22f
        cmp exit_word(%ecx), %al
        jne 22f
        inc %bl
        jmp 1b
22:     mov $NO_MATCH, %bl
        jmp 1b

3:      cmp $'\r', %al                  # CR or lone LF: one line end
        sete %cl
        movzbl %cl, %edi
        NEWLINE
        cmp $4, %bl
        je 6f
        xor %ebx, %ebx
        jmp 1b

5:      test %bh, %bh                   # EOT mid-line: end that line first
        jz 6f
        NEWLINE
6:      PUTLN "echo bye"
        ret

# uart_getc: waits for LSR data ready, then -> AL = the received byte.
uart_getc:
        push %edx
        mov $COM1_LSR, %dx
1:      in (%dx), %al
        test $LSR_DATA_READY, %al
        jnz 2f
        pause
        jmp 1b
2:      mov $COM1, %dx
        in (%dx), %al
        pop %edx
        ret

        .section .rodata
exit_word: .ascii "exit"
