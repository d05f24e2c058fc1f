# flood.S - prints numbered lines without end, to fill the host's bounded console buffer.
#
# Output contract (COM1, "\r\n" line ends):
#   line 0
#   line 1
#   ...                           (counting up by one, forever; wraps after 4294967295)

        .include "pvh.inc"

        .text
main:
        xor %eax, %eax
1:      PUTS "line "
        call put_dec
        NEWLINE
        inc %eax
        jmp 1b
