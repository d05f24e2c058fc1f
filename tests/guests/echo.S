# echo.S - echoes what arrives on COM1 until told to stop; keeps a VM alive and interactive.
#
# Output contract (COM1, "\r\n" line ends):
#   echo ready                    (once, then it polls LSR bit 0 and echoes every received byte)
# Received bytes come back verbatim, except that a line end (CR, LF or CR LF) comes back as one "\r\n".
# On a received line that is exactly "exit", or on byte 0x04 (EOT, Ctrl-D), it prints
#   echo bye                      (on a line of its own)
# and resets through the i8042.
#
# Idling: when a local APIC answers at 0xFEE00000 (an in-kernel irqchip), an empty poll waits in hlt
# for the next tick of a ~1 ms periodic LAPIC timer, so an idle echo VM costs about a thousand exits
# a second instead of a whole host core. Without a local APIC it polls without pause.

        .include "pvh.inc"

        .set EOT,           0x04
        .set NO_MATCH,      0xff        # BL once the line can no longer be "exit"

        .set LAPIC_VERSION,     0xfee00030
        .set LAPIC_EOI,         0xfee000b0
        .set LAPIC_SVR,         0xfee000f0
        .set LAPIC_LVT_TIMER,   0xfee00320
        .set LAPIC_TIMER_INITIAL, 0xfee00380
        .set LAPIC_TIMER_DIVIDE, 0xfee003e0
        .set SVR_ENABLE,        0x100
        .set LVT_PERIODIC,      0x20000
        .set DIVIDE_BY_1,       0x0b
        .set TICK_COUNT,        1000000     # 1 ms at KVM's 1 GHz APIC bus
        .set TIMER_VECTOR,      0x20
        .set SPURIOUS_VECTOR,   0x2f
        .set IDT_ENTRIES,       0x30
        .set GATE_INTERRUPT32,  0x8e00      # present, DPL 0, 32-bit interrupt gate

        .text
main:
        call idle_init
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
.Lpoll:
        in (%dx), %al
        test $LSR_DATA_READY, %al
        jnz 1f
        cmpb $0, timer_running
        je .Lpoll
        sti                             # sti's one-instruction shadow: no tick is lost before hlt
        hlt                             # on_tick resumes at .Lpoll
        cli
        jmp .Lpoll
1:      mov $COM1, %dx
        in (%dx), %al
        pop %edx
        ret

# on_tick: the timer (and spurious) vector. Interrupts are only ever enabled for the hlt in uart_getc,
# so instead of returning with iret (which this host's KVM cannot emulate) it drops the interrupt
# frame (EIP, CS, EFLAGS; IF stays clear) and polls again.
on_tick:
        add $12, %esp
        movl $0, LAPIC_EOI              # harmless for a spurious interrupt: nothing is in service
        jmp .Lpoll

# idle_init: if a local APIC answers, installs an IDT for its timer and starts the periodic tick.
idle_init:
        mov LAPIC_VERSION, %eax
        sub $0x10, %al                  # integrated APICs are versions 0x10..0x15;
        cmp $5, %al                     # unclaimed MMIO reads all ones (or zero)
        ja 1f
        mov %cs, %cx                    # gates use the code selector we were entered with
        mov $idt + TIMER_VECTOR * 8, %edi
        mov $on_tick, %eax
        call set_gate
        mov $idt + SPURIOUS_VECTOR * 8, %edi
        mov $on_tick, %eax
        call set_gate
        lidt idt_descriptor
        movl $(SVR_ENABLE | SPURIOUS_VECTOR), LAPIC_SVR
        movl $DIVIDE_BY_1, LAPIC_TIMER_DIVIDE
        movl $(LVT_PERIODIC | TIMER_VECTOR), LAPIC_LVT_TIMER
        movl $TICK_COUNT, LAPIC_TIMER_INITIAL
        movb $1, timer_running
1:      ret

# set_gate: EDI = IDT entry, EAX = handler, CX = code selector.
set_gate:
        mov %ax, (%edi)
        mov %cx, 2(%edi)
        movw $GATE_INTERRUPT32, 4(%edi)
        shr $16, %eax
        mov %ax, 6(%edi)
        ret

        .section .rodata
exit_word: .ascii "exit"
        .balign 8
idt_descriptor:
        .word IDT_ENTRIES * 8 - 1
        .long idt

        .section .bss
        .balign 8
idt:    .skip IDT_ENTRIES * 8
timer_running: .skip 1
