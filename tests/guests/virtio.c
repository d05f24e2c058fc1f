/*
 * virtio.c - a freestanding virtio-mmio driver guest (32-bit, paging off, one vCPU, polling, no interrupts).
 *
 * It finds its devices where Linux does: the kernel command line's virtio_mmio.device=<size>@<base>:<irq> entries
 * (QEMU microvm with acpi=off appends them), else the DSDT's LNRO0005 devices (PvhVm, and QEMU microvm with ACPI),
 * whose _CRS holds a Memory32Fixed window and an extended Interrupt.
 * For each virtio-blk it reads sector 0, writes sector 8, flushes, reads sector 8 back and asks for the serial;
 * for each virtio-rng it asks for 64 bytes. Every step is one request on queue 0, waited for by polling the
 * used ring (bounded). For each virtio-net it sends an ARP request for 10.213.0.1 from 10.213.0.2 (retrying while
 * the host side comes up) and then an ICMP echo, and waits for the host kernel's replies. For each virtio-vsock it
 * connects to host port 5001, sends a line and closes; then accepts one connection on its port 5000 and echoes what
 * arrives until the host ends it. It prints what it did on COM1 and ends with the i8042 reset.
 * Benchmark modes (bench/Bench-Net.ps1), after the ICMP echo: virtio.net_tx=<n> waits for a UDP datagram to its port
 * 11, then sends n UDP datagrams of virtio.net_size=<bytes> payload (default 1472) to the host's port 9, up to 8 in
 * flight; virtio.net_rx counts the UDP datagrams the host sends to its port 9 until one arrives for port 10.
 *
 * Output contract (COM1, "\r\n" line ends; values differ only with the disk's content and serial):
 *   virtio: <n> device(s) on the command line             (or "in the DSDT"; 0: "virtio: no devices")
 *   dev <i> at 0x%08x irq %u: id %u                        then, per device id:
 *   blk looping chain: device needs reset                 (only with virtio.loop: a self-looping chain first, then a reset)
 *   blk capacity=%u sectors                                (block, id 2)
 *   blk sector 0: <first 32 bytes, non-printables as '.'>
 *   blk wrote sector 8
 *   blk flush ok
 *   blk sector 8 reads back ok
 *   blk serial=<GET_ID's bytes up to the first NUL>
 *   blk discard max=%u seg=%u align=%u                    (only with virtio.discard: the device's limits,
 *   blk write zeroes max=%u seg=%u may unmap=%u             then sectors 256-383 written and zeroed, half with the
 *   blk write zeroes ok, with and without unmap             unmap flag, 512-639 written and discarded, and three
 *   blk discard ok                                          requests the device must refuse, with their status)
 *   blk discard with the unmap flag: status %u
 *   blk discard of two segments: status %u
 *   blk write zeroes past the end: status %u
 *   blk <n> reads ok                                       (only with virtio.reads=<n>: n more one-sector reads)
 *   blk seq begin                                          (only with virtio.seq=<n>: n sequential 128 KiB reads,
 *   blk seq <n> x 131072 bytes ok                           wrapping at the capacity; the host times between the lines)
 *   blk rand begin                                         (only with virtio.rand=<n>: n 4 KiB reads at pseudo-random
 *   blk rand <n> x 4096 bytes ok                            4 KiB-aligned offsets within the capacity)
 *   rng 64 bytes, not all zero                            (entropy, id 4)
 *   net mac=<xx:xx:xx:xx:xx:xx>                            (network, id 1)
 *   net arp reply from 10.213.0.1 at <mac>
 *   net icmp echo reply, 256 bytes back
 *   net sent %u frames                                     (only with virtio.net_tx=<n>, after the host's datagram to port 11)
 *   net received %u frames %u bytes                        (only with virtio.net_rx: UDP to port 9, until one to port 10)
 *   vsock cid=%u                                          (vsock, id 19)
 *   vsock connected to host port 5001, sent hello
 *   vsock listening on port 5000
 *   vsock echoed %u bytes on port 5000
 * With virtio.ckpt[=<n>] (the checkpoint tests) it starts every device instead and then loops forever: the first disk
 * gets records 0..n-1 (default 1500) in sectors 16.. ("CKPT", n, 16 bytes of virtio-rng, 8 bytes of the second,
 * read-only disk's sector n % 16), UDP datagrams to port 9 are printed, vsock port 5000 echoes, and a vsock event is
 * printed with the CID then read:
 *   ckpt ready / ckpt blk <n> / ckpt blk done / ckpt net udp <payload> mac=<mac> / vsock cid=<cid>, listening on port 5000
 *   vsock accepted / vsock echoed <n> / vsock connection ended / vsock event <id>, cid=<cid>
 *   dev <i>: <what failed>                                 instead of the rest of that device's lines
 *   virtio done
 */
#include <stdint.h>

#define COM1 0x3f8
#define MAX_DEVICES 8
#define QUEUE_SIZE 8
#define POLL_LIMIT 100000000u
#define MAX_QUEUES 3
#define STATUS_POLL_EVERY 4096u
#define SEQ_CHUNK 131072u
#define RAND_CHUNK 4096u

/* virtio-mmio registers (VIRTIO 1.2, 4.2.2) */
enum {
    MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
    DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
    QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064,
    STATUS = 0x070, QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
    QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4, CONFIG = 0x100,
};
enum { ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 64 };
enum { F_BLK_FLUSH = 9, F_BLK_DISCARD = 13, F_BLK_WRITE_ZEROES = 14, F_VERSION_1_HIGH = 0 /* bit 32 = bit 0 of the high word */ };
enum { DESC_NEXT = 1, DESC_WRITE = 2 };
enum { BLK_IN = 0, BLK_OUT = 1, BLK_FLUSH = 4, BLK_GET_ID = 8, BLK_DISCARD = 11, BLK_WRITE_ZEROES = 13, DWZ_UNMAP = 1 };

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QUEUE_SIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QUEUE_SIZE]; uint16_t avail_event; };
struct blk_header { uint32_t type, reserved; uint64_t sector; };
struct blk_segment { uint64_t sector; uint32_t sectors, flags; };

struct queue {
    struct desc desc[QUEUE_SIZE] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(4)));
    struct used used __attribute__((aligned(4)));
    uint16_t next_avail, last_used;
};

static struct queue queues[MAX_DEVICES][MAX_QUEUES];
static struct blk_header header;
/* Aligned no more than the rest of .bss: a 512-byte alignment could start .bss on a fresh page, and ld then gives it a
 * separate RW segment (every guest but smp is one segment at the image base). */
static uint8_t data[512] __attribute__((aligned(16)));
static uint8_t bench_data[SEQ_CHUNK] __attribute__((aligned(16)));
static volatile uint8_t status;
static const char *problem;

extern uint32_t start_info_paddr;

static inline void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
/* A full barrier: a locked instruction orders every load and store before it (no SSE2 mfence needed). */
static inline void barrier(void) { __asm__ volatile("lock orl $0, (%%esp)" : : : "memory"); }

static void putc(char c)
{
    for (uint32_t i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) { }
    outb(COM1, (uint8_t)c);
}

static void puts(const char *s) { while (*s) putc(*s++); }

static void putu(uint32_t v)
{
    char buf[11]; int n = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc(buf[--n]);
}

static void puthex(uint32_t v) { puts("0x"); for (int i = 28; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 15]); }

static uint32_t rd(uint32_t base, uint32_t reg) { return *(volatile uint32_t *)(base + reg); }
static void wr(uint32_t base, uint32_t reg, uint32_t v) { *(volatile uint32_t *)(base + reg) = v; }

/* Parses one unsigned number (0x hex or decimal) and advances *s. */
static uint32_t parse_number(const char **s)
{
    uint32_t v = 0; const char *p = *s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        for (p += 2;; p++) {
            char c = *p; uint32_t d;
            if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
            else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
            else break;
            v = v * 16 + d;
        }
    } else {
        for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint32_t)(*p - '0');
        if (*p == 'K' || *p == 'k') { v <<= 10; p++; }
    }
    *s = p;
    return v;
}

/* Finds virtio_mmio.device=<size>@<base>:<irq> entries, in command-line order. */
static int find_devices(const char *cmdline, uint32_t *bases, uint32_t *irqs)
{
    static const char key[] = "virtio_mmio.device=";
    int count = 0;
    for (const char *p = cmdline; *p && count < MAX_DEVICES; p++) {
        int i = 0;
        while (key[i] && p[i] == key[i]) i++;
        if (key[i]) continue;
        const char *q = p + i;
        parse_number(&q);
        if (*q++ != '@') continue;
        bases[count] = parse_number(&q);
        irqs[count] = *q == ':' ? (q++, parse_number(&q)) : 0;
        count++;
        p = q - 1;
    }
    return count;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static int same(const uint8_t *p, const char *s) { while (*s) if (*p++ != (uint8_t)*s++) return 0; return 1; }

/* The DSDT through start_info's RSDP, the XSDT and the FADT (X_DSDT, else DSDT); 0 if any link is missing. */
static const uint8_t *find_dsdt(const uint32_t *info)
{
    const uint8_t *rsdp = (const uint8_t *)info[8]; /* rsdp_paddr, low half */
    if (!rsdp || !same(rsdp, "RSD PTR ") || rsdp[15] < 2) return 0;
    const uint8_t *xsdt = (const uint8_t *)rd32(rsdp + 24);
    if (!xsdt || !same(xsdt, "XSDT")) return 0;
    uint32_t entries = (rd32(xsdt + 4) - 36) / 8;
    for (uint32_t i = 0; i < entries && i < 64; i++) {
        const uint8_t *table = (const uint8_t *)rd32(xsdt + 36 + 8 * i);
        if (!table || !same(table, "FACP")) continue;
        uint32_t dsdt = rd32(table + 4) >= 148 && rd32(table + 140) ? rd32(table + 140) : rd32(table + 40);
        return dsdt && same((const uint8_t *)dsdt, "DSDT") ? (const uint8_t *)dsdt : 0;
    }
    return 0;
}

/*
 * Finds the DSDT's LNRO0005 devices in table order, without an AML interpreter: after each "LNRO0005" string, the
 * first Memory32Fixed descriptor (0x86, length 9) gives the base and the first extended Interrupt descriptor (0x89)
 * its first interrupt, both within the next 128 bytes (the device's _CRS, as PvhVm and QEMU write it).
 */
static int find_dsdt_devices(const uint8_t *dsdt, uint32_t *bases, uint32_t *irqs)
{
    uint32_t length = rd32(dsdt + 4);
    int count = 0;
    for (uint32_t i = 36; i + 8 <= length && count < MAX_DEVICES; i++) {
        if (!same(dsdt + i, "LNRO0005")) continue;
        uint32_t base = 0, irq = 0; int found = 0;
        for (uint32_t j = i + 8; j + 9 <= length && j < i + 128 && found != 3; j++) {
            const uint8_t *d = dsdt + j;
            if (!(found & 1) && d[0] == 0x86 && d[1] == 9 && d[2] == 0) { base = rd32(d + 4); found |= 1; }
            else if (!(found & 2) && d[0] == 0x89 && d[1] >= 6 && d[2] == 0 && d[4] >= 1) { irq = rd32(d + 5); found |= 2; }
        }
        if (found != 3) continue;
        bases[count] = base; irqs[count] = irq; count++;
    }
    return count;
}

/* Publishes descriptor chain 0..n-1, notifies, and polls for its return; 0 on success. The device's status is read only
 * every STATUS_POLL_EVERY polls: each read is an exit, and a device served on another host thread is still busy for
 * the first few (polling memory costs none). */
static int submit(uint32_t base, struct queue *q, int n)
{
    q->avail.ring[q->next_avail % QUEUE_SIZE] = 0;
    barrier();
    q->avail.idx = ++q->next_avail;
    barrier();
    wr(base, QUEUE_NOTIFY, 0);
    for (uint32_t i = 0; i < POLL_LIMIT; i++) {
        barrier();
        if (*(volatile uint16_t *)&q->used.idx != q->last_used) {
            q->last_used++;
            wr(base, INTERRUPT_ACK, rd(base, INTERRUPT_STATUS));
            return 0;
        }
        if (i % STATUS_POLL_EVERY == STATUS_POLL_EVERY - 1 && (rd(base, STATUS) & NEEDS_RESET)) { problem = "device needs reset"; return -1; }
    }
    (void)n;
    problem = "request timed out";
    return -1;
}

static void set_desc(struct queue *q, int i, const volatile void *addr, uint32_t len, uint16_t flags)
{
    q->desc[i].addr = (uint32_t)addr;
    q->desc[i].len = len;
    q->desc[i].flags = flags;
    q->desc[i].next = (uint16_t)(i + 1);
}

/* Reset, features (VERSION_1, and wanted_low of the low word when offered), queues 0..count-1, DRIVER_OK. */
static int start_device(uint32_t base, struct queue *qs, int count, uint32_t wanted_low)
{
    wr(base, STATUS, 0);
    wr(base, STATUS, ACKNOWLEDGE);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER);
    wr(base, DEVICE_FEATURES_SEL, 1);
    if (!(rd(base, DEVICE_FEATURES) & 1)) { problem = "no VIRTIO_F_VERSION_1"; return -1; }
    wr(base, DEVICE_FEATURES_SEL, 0);
    uint32_t low = rd(base, DEVICE_FEATURES) & wanted_low;
    wr(base, DRIVER_FEATURES_SEL, 0);
    wr(base, DRIVER_FEATURES, low);
    wr(base, DRIVER_FEATURES_SEL, 1);
    wr(base, DRIVER_FEATURES, 1);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if (!(rd(base, STATUS) & FEATURES_OK)) { problem = "features refused"; return -1; }
    for (int i = 0; i < count; i++) {
        struct queue *q = &qs[i];
        wr(base, QUEUE_SEL, (uint32_t)i);
        if (rd(base, QUEUE_NUM_MAX) < QUEUE_SIZE) { problem = "queue too small"; return -1; }
        wr(base, QUEUE_NUM, QUEUE_SIZE);
        wr(base, QUEUE_DESC_LOW, (uint32_t)q->desc);
        wr(base, QUEUE_DESC_HIGH, 0);
        wr(base, QUEUE_DRIVER_LOW, (uint32_t)&q->avail);
        wr(base, QUEUE_DRIVER_HIGH, 0);
        wr(base, QUEUE_DEVICE_LOW, (uint32_t)&q->used);
        wr(base, QUEUE_DEVICE_HIGH, 0);
        wr(base, QUEUE_READY, 1);
    }
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    if (rd(base, STATUS) & NEEDS_RESET) { problem = "needs reset after DRIVER_OK"; return -1; }
    return 0;
}

/* One block request: header, optional data in buffer (device-writable for IN and GET_ID), status. */
static int blk_request_into(uint32_t base, struct queue *q, uint32_t type, uint32_t sector, volatile void *buffer, uint32_t length)
{
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    int n = 0;
    set_desc(q, n++, &header, sizeof header, DESC_NEXT);
    if (length) set_desc(q, n++, buffer, length, DESC_NEXT | (type == BLK_OUT ? 0 : DESC_WRITE));
    set_desc(q, n++, &status, 1, DESC_WRITE);
    if (submit(base, q, n)) return -1;
    if (status != 0) { problem = "request failed"; return -1; }
    return 0;
}

static int blk_request(uint32_t base, struct queue *q, uint32_t type, uint32_t sector, uint32_t length)
{
    return blk_request_into(base, q, type, sector, data, length);
}

static uint32_t extra_reads, seq_reads, rand_reads;
static int loop_first, discard_steps;
static struct blk_segment segments[2];

/* DISCARD or WRITE_ZEROES with segments[0..n-1]: the status byte, or -1 if the request did not come back. */
static int blk_segments(uint32_t base, struct queue *q, uint32_t type, int n)
{
    header.type = type;
    header.reserved = 0;
    header.sector = 0;
    status = 0xff;
    set_desc(q, 0, &header, sizeof header, DESC_NEXT);
    set_desc(q, 1, segments, (uint32_t)(n * (int)sizeof segments[0]), DESC_NEXT);
    set_desc(q, 2, &status, 1, DESC_WRITE);
    return submit(base, q, 3) ? -1 : status;
}

static int one_segment(uint32_t base, struct queue *q, uint32_t type, uint32_t sector, uint32_t sectors, uint32_t flags)
{
    segments[0].sector = sector;
    segments[0].sectors = sectors;
    segments[0].flags = flags;
    return blk_segments(base, q, type, 1);
}

static void put_status(const char *what, int s) { puts(what); putu((uint32_t)s); puts("\r\n"); }

/* virtio.discard: the limits, zeroing and discarding written ranges, and the requests the device must refuse. */
static int run_discard(uint32_t base, struct queue *q, uint32_t capacity)
{
    wr(base, DEVICE_FEATURES_SEL, 0);
    uint32_t offered = rd(base, DEVICE_FEATURES);
    if (!(offered & (1u << F_BLK_DISCARD)) || !(offered & (1u << F_BLK_WRITE_ZEROES))) { problem = "no discard or write zeroes"; return -1; }
    puts("blk discard max="); putu(rd(base, CONFIG + 36)); puts(" seg="); putu(rd(base, CONFIG + 40));
    puts(" align="); putu(rd(base, CONFIG + 44)); puts("\r\n");
    puts("blk write zeroes max="); putu(rd(base, CONFIG + 48)); puts(" seg="); putu(rd(base, CONFIG + 52));
    puts(" may unmap="); putu(*(volatile uint8_t *)(base + CONFIG + 56)); puts("\r\n");

    for (uint32_t i = 0; i < 65536; i++) bench_data[i] = (uint8_t)(i * 7 + 1);
    if (blk_request_into(base, q, BLK_OUT, 256, bench_data, 65536) || blk_request_into(base, q, BLK_OUT, 512, bench_data, 65536)) return -1;
    if (one_segment(base, q, BLK_WRITE_ZEROES, 256, 64, 0) != 0 || one_segment(base, q, BLK_WRITE_ZEROES, 320, 64, DWZ_UNMAP) != 0) {
        problem = "write zeroes failed"; return -1;
    }
    if (blk_request_into(base, q, BLK_IN, 256, bench_data, 65536)) return -1;
    for (uint32_t i = 0; i < 65536; i++) if (bench_data[i]) { problem = "zeroed sectors are not zero"; return -1; }
    puts("blk write zeroes ok, with and without unmap\r\n");
    if (one_segment(base, q, BLK_DISCARD, 512, 128, 0) != 0) { problem = "discard failed"; return -1; }
    puts("blk discard ok\r\n");

    put_status("blk discard with the unmap flag: status ", one_segment(base, q, BLK_DISCARD, 512, 8, DWZ_UNMAP));
    segments[1] = segments[0];
    segments[0].flags = segments[1].flags = 0;
    put_status("blk discard of two segments: status ", blk_segments(base, q, BLK_DISCARD, 2));
    put_status("blk write zeroes past the end: status ", one_segment(base, q, BLK_WRITE_ZEROES, capacity - 1, 2, 0));
    return 0;
}

/* virtio.seq=<n> and virtio.rand=<n>: the benchmark's read patterns, one request in flight (queue depth 1). */
static int run_bench_reads(uint32_t base, struct queue *q, uint32_t capacity)
{
    uint32_t seq_sectors = SEQ_CHUNK / 512, rand_sectors = RAND_CHUNK / 512;
    if (seq_reads) {
        if (capacity < seq_sectors) { problem = "disk smaller than one sequential read"; return -1; }
        puts("blk seq begin\r\n");
        uint32_t sector = 0;
        for (uint32_t i = 0; i < seq_reads; i++) {
            if (sector + seq_sectors > capacity) sector = 0;
            if (blk_request_into(base, q, BLK_IN, sector, bench_data, SEQ_CHUNK)) return -1;
            sector += seq_sectors;
        }
        puts("blk seq "); putu(seq_reads); puts(" x 131072 bytes ok\r\n");
    }
    if (rand_reads) {
        uint32_t blocks = capacity / rand_sectors, x = 12345;
        if (!blocks) { problem = "disk smaller than one random read"; return -1; }
        puts("blk rand begin\r\n");
        for (uint32_t i = 0; i < rand_reads; i++) {
            x = x * 1103515245u + 12345u;   /* an LCG: the same offsets under every VMM */
            if (blk_request_into(base, q, BLK_IN, ((x >> 8) % blocks) * rand_sectors, bench_data, RAND_CHUNK)) return -1;
        }
        puts("blk rand "); putu(rand_reads); puts(" x 4096 bytes ok\r\n");
    }
    return 0;
}

/* virtio.loop on the command line: first a chain whose descriptor points back at itself, which the device must refuse
 * by needing a reset; then the usual requests after a reset, on a fresh queue. */
static int run_looping_chain(uint32_t base, struct queue *q)
{
    if (start_device(base, q, 1, 1u << F_BLK_FLUSH)) return -1;
    set_desc(q, 0, &header, sizeof header, DESC_NEXT);
    q->desc[0].next = 0;
    if (submit(base, q, 1) == 0) { problem = "a looping chain was served"; return -1; }
    puts("blk looping chain: "); puts(problem); puts("\r\n");
    q->next_avail = 0;
    q->last_used = 0;
    q->avail.idx = 0;
    return 0;
}

static int run_block(uint32_t base, struct queue *q)
{
    static const char marker[] = "PVHVM VIRTIO GUEST WAS HERE (sector 8)";
    if (loop_first && run_looping_chain(base, q)) return -1;
    uint32_t wanted = 1u << F_BLK_FLUSH | (discard_steps ? 1u << F_BLK_DISCARD | 1u << F_BLK_WRITE_ZEROES : 0);
    if (start_device(base, q, 1, wanted)) return -1;
    uint32_t capacity = rd(base, CONFIG);
    puts("blk capacity="); putu(capacity); puts(" sectors\r\n");

    if (blk_request(base, q, BLK_IN, 0, 512)) return -1;
    puts("blk sector 0: ");
    for (int i = 0; i < 32; i++) putc(data[i] >= 0x20 && data[i] < 0x7f ? (char)data[i] : '.');
    puts("\r\n");

    for (int i = 0; i < 512; i++) data[i] = i < (int)sizeof marker ? (uint8_t)marker[i] : (uint8_t)i;
    if (blk_request(base, q, BLK_OUT, 8, 512)) return -1;
    puts("blk wrote sector 8\r\n");
    if (blk_request(base, q, BLK_FLUSH, 0, 0)) return -1;
    puts("blk flush ok\r\n");

    for (int i = 0; i < 512; i++) data[i] = 0;
    if (blk_request(base, q, BLK_IN, 8, 512)) return -1;
    for (int i = 0; i < 512; i++) {
        if (data[i] != (i < (int)sizeof marker ? (uint8_t)marker[i] : (uint8_t)i)) { problem = "sector 8 differs"; return -1; }
    }
    puts("blk sector 8 reads back ok\r\n");

    for (int i = 0; i < 21; i++) data[i] = 0;
    if (blk_request(base, q, BLK_GET_ID, 0, 20)) return -1;
    puts("blk serial="); puts((const char *)data); puts("\r\n");

    if (discard_steps && run_discard(base, q, capacity)) return -1;

    /* virtio.reads=<n> on the command line: n more one-sector reads, for a requests-per-second figure. */
    for (uint32_t i = 0; i < extra_reads; i++) {
        if (blk_request(base, q, BLK_IN, i % 2048u, 512)) return -1;
    }
    if (extra_reads) { puts("blk "); putu(extra_reads); puts(" reads ok\r\n"); }
    return run_bench_reads(base, q, capacity);
}

static int run_entropy(uint32_t base, struct queue *q)
{
    if (start_device(base, q, 1, 0)) return -1;
    for (int i = 0; i < 64; i++) data[i] = 0;
    set_desc(q, 0, data, 64, DESC_WRITE);
    if (submit(base, q, 1)) return -1;
    if (q->used.ring[(q->last_used - 1) % QUEUE_SIZE].len != 64) { problem = "short entropy"; return -1; }
    uint8_t any = 0;
    for (int i = 0; i < 64; i++) any |= data[i];
    if (!any) { problem = "64 zero bytes"; return -1; }
    puts("rng 64 bytes, not all zero\r\n");
    return 0;
}


/* --- device-driven queues: buffers posted ahead, taken back whenever the device returns them --- */

static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (uint64_t)hi << 32 | lo; }

/* Roughly seconds on this host's TSC (a few GHz); only bounds waits. */
#define TSC_SECOND 2000000000ull

/* This guest polls with interrupts off: VIRTQ_AVAIL_F_NO_INTERRUPT tells the device not to raise any (each one costs
 * the host an interrupt injection the guest never takes). */
static void no_interrupts(struct queue *qs, int count) { for (int i = 0; i < count; i++) qs[i].avail.flags = 1; }

/* Makes one single-descriptor chain available on queue qi (descriptor slot = ring slot) and notifies. */
static void post(uint32_t base, int qi, struct queue *q, uint16_t slot, const volatile void *buffer, uint32_t len, uint16_t flags)
{
    q->desc[slot].addr = (uint32_t)buffer;
    q->desc[slot].len = len;
    q->desc[slot].flags = flags;
    q->desc[slot].next = (uint16_t)(slot + 1);   /* read only with DESC_NEXT: a chain continues in the next slot */
    q->avail.ring[q->next_avail % QUEUE_SIZE] = slot;
    barrier();
    q->avail.idx = ++q->next_avail;
    barrier();
    wr(base, QUEUE_NOTIFY, (uint32_t)qi);
}

/* The next used element, waiting up to 'seconds'; the head's slot, or -1. Reads only memory while it waits. */
static int take_used(struct queue *q, uint32_t *len, uint32_t seconds)
{
    uint64_t deadline = rdtsc() + seconds * TSC_SECOND;
    do {
        barrier();
        if (*(volatile uint16_t *)&q->used.idx != q->last_used) {
            struct used_elem e = q->used.ring[q->last_used % QUEUE_SIZE];
            q->last_used++;
            *len = e.len;
            return (int)e.id;
        }
    } while (rdtsc() < deadline);
    return -1;
}

static void ack(uint32_t base) { wr(base, INTERRUPT_ACK, rd(base, INTERRUPT_STATUS)); }

static void copy(volatile uint8_t *to, const volatile uint8_t *from, uint32_t n) { while (n--) *to++ = *from++; }

static int equal(const volatile uint8_t *a, const volatile uint8_t *b, uint32_t n) { while (n--) if (*a++ != *b++) return 0; return 1; }

static void puthex8(uint8_t v) { putc("0123456789abcdef"[v >> 4]); putc("0123456789abcdef"[v & 15]); }

static void putmac(const volatile uint8_t *m) { for (int i = 0; i < 6; i++) { if (i) putc(':'); puthex8(m[i]); } }

/* --- virtio-net: ARP and ICMP with the host kernel on the tap --- */

enum { NET_HDR = 12, NET_FRAME = 1514, NET_RX_BUFFERS = 4, F_NET_MAC = 5 };
static const uint8_t guest_ip[4] = { 10, 213, 0, 2 }, host_ip[4] = { 10, 213, 0, 1 };
static volatile uint8_t net_rx[NET_RX_BUFFERS][NET_HDR + NET_FRAME];
static volatile uint8_t net_tx[NET_HDR + NET_FRAME];
static uint8_t mac[6], host_mac[6];

static uint16_t be16(const volatile uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put_be16(volatile uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t checksum(const volatile uint8_t *p, uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i + 1 < n; i += 2) sum += be16(p + i);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void net_send(uint32_t base, struct queue *tx, uint32_t frame_len)
{
    for (int i = 0; i < NET_HDR; i++) net_tx[i] = 0;
    post(base, 1, tx, 0, net_tx, NET_HDR + frame_len, 0);
    uint32_t len;
    take_used(tx, &len, 1);
}

/* Waits for a frame the predicate accepts, giving every received buffer back; 0 when one came. */
static int net_receive(uint32_t base, struct queue *rx, int (*accept)(const volatile uint8_t *frame, uint32_t len), uint32_t seconds)
{
    for (;;) {
        uint32_t len;
        int slot = take_used(rx, &len, seconds);
        if (slot < 0) return -1;
        ack(base);
        int found = len > NET_HDR && accept(net_rx[slot] + NET_HDR, len - NET_HDR);
        post(base, 0, rx, (uint16_t)slot, net_rx[slot], sizeof net_rx[slot], DESC_WRITE);
        if (found) return 0;
    }
}

static int is_arp_reply(const volatile uint8_t *f, uint32_t len)
{
    if (len < 42 || be16(f + 12) != 0x0806 || be16(f + 20) != 2 || !equal(f + 28, host_ip, 4)) return 0;
    copy(host_mac, f + 22, 6);
    return 1;
}

static int is_echo_reply(const volatile uint8_t *f, uint32_t len)
{
    if (len < 42 + 256 || be16(f + 12) != 0x0800 || f[23] != 1 || f[34] != 0 || be16(f + 40) != 7) return 0;
    for (int i = 0; i < 256; i++) if (f[42 + i] != (uint8_t)(i * 3)) return 0;
    return 1;
}

static void ethernet(volatile uint8_t *f, const uint8_t *to, uint16_t type)
{
    copy(f, to, 6);
    copy(f + 6, mac, 6);
    put_be16(f + 12, type);
}

static uint32_t net_tx_count, net_size = 1472;
static int net_rx_mode;
static volatile uint8_t net_flood_tx[QUEUE_SIZE][NET_HDR + NET_FRAME];

/* What follows the first occurrence of key in the command line, or 0 when it is not there. */
static const char *option(const char *cmdline, const char *key)
{
    for (const char *p = cmdline; p && *p; p++) {
        int k = 0;
        while (key[k] && p[k] == key[k]) k++;
        if (!key[k]) return p + k;
    }
    return 0;
}

/* The network benchmark's modes: virtio.net_tx=<n>, virtio.net_size=<bytes>, virtio.net_rx. */
static void net_options(const char *cmdline)
{
    const char *value;
    if ((value = option(cmdline, "virtio.net_tx="))) net_tx_count = parse_number(&value);
    if ((value = option(cmdline, "virtio.net_size="))) net_size = parse_number(&value);
    if (option(cmdline, "virtio.net_rx")) net_rx_mode = 1;
}

/* An IPv4 + UDP header from the guest to the host at f + 14 for 'payload' bytes (checksum 0: none, allowed for UDP). */
static void udp_to_host(volatile uint8_t *f, uint16_t port, uint32_t payload)
{
    ethernet(f, host_mac, 0x0800);
    volatile uint8_t *ip = f + 14, *udp = f + 34;
    ip[0] = 0x45; ip[1] = 0; put_be16(ip + 2, (uint16_t)(20 + 8 + payload)); put_be16(ip + 4, 0); put_be16(ip + 6, 0x4000);
    ip[8] = 64; ip[9] = 17; put_be16(ip + 10, 0); copy(ip + 12, guest_ip, 4); copy(ip + 16, host_ip, 4);
    put_be16(ip + 10, checksum(ip, 20));
    put_be16(udp, 9); put_be16(udp + 2, port); put_be16(udp + 4, (uint16_t)(8 + payload)); put_be16(udp + 6, 0);
}

/* virtio.net_tx: n datagrams as fast as the device takes them, each chain (one per ring slot) reused once returned. */
static void net_flood(uint32_t base, struct queue *tx)
{
    uint32_t payload = net_size > NET_FRAME - 42 ? NET_FRAME - 42 : net_size, len;
    for (int i = 0; i < QUEUE_SIZE; i++) {
        for (int j = 0; j < NET_HDR; j++) net_flood_tx[i][j] = 0;
        udp_to_host(net_flood_tx[i] + NET_HDR, 9, payload);
        for (uint32_t j = 0; j < payload; j++) net_flood_tx[i][NET_HDR + 42 + j] = (uint8_t)j;
    }
    uint32_t sent = 0;
    for (; sent < net_tx_count; sent++) {
        if ((uint16_t)(tx->next_avail - tx->last_used) >= QUEUE_SIZE && take_used(tx, &len, 5) < 0) break;
        uint16_t slot = (uint16_t)(tx->next_avail % QUEUE_SIZE);
        post(base, 1, tx, slot, net_flood_tx[slot], NET_HDR + 42 + payload, 0);
    }
    while (tx->last_used != tx->next_avail && take_used(tx, &len, 5) >= 0) { }
    puts("net sent "); putu(sent); puts(" frames\r\n");
}

/* Counts UDP datagrams to port 9 (any source) until one arrives for end_port; 0 when it came. */
static int net_count_until(uint32_t base, struct queue *rx, uint16_t end_port, uint32_t *frames, uint32_t *bytes)
{
    for (;;) {
        uint32_t len;
        int slot = take_used(rx, &len, 30);
        if (slot < 0) { problem = "no end of the host's datagrams"; return -1; }
        const volatile uint8_t *f = net_rx[slot] + NET_HDR;
        int udp = len >= NET_HDR + 42 && be16(f + 12) == 0x0800 && f[23] == 17;
        uint16_t port = udp ? be16(f + 36) : 0;
        post(base, 0, rx, (uint16_t)slot, net_rx[slot], sizeof net_rx[slot], DESC_WRITE);
        if (port == 9) { ++*frames; *bytes += len - NET_HDR; }
        if (port == end_port) return 0;
    }
}

static int run_net(uint32_t base, struct queue *qs)
{
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    if (start_device(base, qs, 2, 1u << F_NET_MAC)) return -1;
    no_interrupts(qs, 2);
    for (int i = 0; i < 6; i++) mac[i] = *(volatile uint8_t *)(base + CONFIG + i);
    puts("net mac="); putmac(mac); puts("\r\n");
    for (uint16_t i = 0; i < NET_RX_BUFFERS; i++) post(base, 0, &qs[0], i, net_rx[i], sizeof net_rx[i], DESC_WRITE);

    /* The host side may still be coming up (the tap addressed, brought up): ask again each second. */
    volatile uint8_t *f = net_tx + NET_HDR;
    int answered = -1;
    for (int attempt = 0; attempt < 20 && answered; attempt++) {
        ethernet(f, broadcast, 0x0806);
        put_be16(f + 14, 1); put_be16(f + 16, 0x0800); f[18] = 6; f[19] = 4; put_be16(f + 20, 1);
        copy(f + 22, mac, 6); copy(f + 28, guest_ip, 4);
        for (int i = 0; i < 6; i++) f[32 + i] = 0;
        copy(f + 38, host_ip, 4);
        net_send(base, &qs[1], 42);
        answered = net_receive(base, &qs[0], is_arp_reply, 1);
    }
    if (answered) { problem = "no ARP reply"; return -1; }
    puts("net arp reply from 10.213.0.1 at "); putmac(host_mac); puts("\r\n");

    ethernet(f, host_mac, 0x0800);
    volatile uint8_t *ip = f + 14, *icmp = f + 34;
    ip[0] = 0x45; ip[1] = 0; put_be16(ip + 2, 20 + 8 + 256); put_be16(ip + 4, 1); put_be16(ip + 6, 0);
    ip[8] = 64; ip[9] = 1; put_be16(ip + 10, 0); copy(ip + 12, guest_ip, 4); copy(ip + 16, host_ip, 4);
    put_be16(ip + 10, checksum(ip, 20));
    icmp[0] = 8; icmp[1] = 0; put_be16(icmp + 2, 0); put_be16(icmp + 4, 0x5076); put_be16(icmp + 6, 7);
    for (int i = 0; i < 256; i++) icmp[8 + i] = (uint8_t)(i * 3);
    put_be16(icmp + 2, checksum(icmp, 8 + 256));
    net_send(base, &qs[1], 14 + 20 + 8 + 256);
    if (net_receive(base, &qs[0], is_echo_reply, 5)) { problem = "no ICMP echo reply"; return -1; }
    puts("net icmp echo reply, 256 bytes back\r\n");
    uint32_t frames = 0, bytes = 0;
    if (net_tx_count) {
        /* The host says when it is ready to count (a datagram to port 11). */
        if (net_count_until(base, &qs[0], 11, &frames, &bytes)) return -1;
        net_flood(base, &qs[1]);
    }
    if (net_rx_mode) {
        if (net_count_until(base, &qs[0], 10, &frames, &bytes)) return -1;
        puts("net received "); putu(frames); puts(" frames "); putu(bytes); puts(" bytes\r\n");
    }
    return 0;
}

/* --- virtio-vsock: a guest-initiated connection and an echo listener --- */

struct vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port, len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

enum { VS_REQUEST = 1, VS_RESPONSE = 2, VS_RST = 3, VS_SHUTDOWN = 4, VS_RW = 5, VS_CREDIT_UPDATE = 6, VS_CREDIT_REQUEST = 7 };
enum { VS_RX_BUFFERS = 4, VS_BUFFER = 4096, VS_HOST_CID = 2, VS_BUF_ALLOC = 65536 };
static volatile uint8_t vs_rx[VS_RX_BUFFERS][VS_BUFFER];
static volatile uint8_t vs_tx[sizeof(struct vsock_hdr)];
static uint64_t cid;
static uint32_t vs_fwd_cnt;

static void vs_send(uint32_t base, struct queue *tx, uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t flags,
                    const volatile uint8_t *payload, uint32_t len)
{
    struct vsock_hdr h = { cid, VS_HOST_CID, src_port, dst_port, len, 1, op, flags, VS_BUF_ALLOC, vs_fwd_cnt };
    *(struct vsock_hdr *)vs_tx = h;
    /* The payload stays where it is (an echo sends from the receive buffer): a byte loop costs microseconds per byte
     * where guest code is emulated, as on this host, and would be all that a benchmark measures. */
    tx->desc[1].addr = (uint32_t)payload;
    tx->desc[1].len = len;
    tx->desc[1].flags = 0;
    tx->desc[1].next = 0;
    post(base, 1, tx, 0, vs_tx, (uint32_t)sizeof h, len ? DESC_NEXT : 0);
    uint32_t used;
    take_used(tx, &used, 1);
}

/* The next packet into *h (its payload stays in vs_rx[*slot] until vs_return); -1 after 'seconds'. */
static int vs_receive(uint32_t base, struct queue *rx, struct vsock_hdr *h, int *slot, uint32_t seconds)
{
    uint32_t len;
    *slot = take_used(rx, &len, seconds);
    if (*slot < 0) return -1;
    ack(base);
    *h = *(const struct vsock_hdr *)vs_rx[*slot];
    return len >= sizeof *h ? 0 : -1;
}

static void vs_return(uint32_t base, struct queue *rx, int slot) { post(base, 0, rx, (uint16_t)slot, vs_rx[slot], VS_BUFFER, DESC_WRITE); }

static int run_vsock(uint32_t base, struct queue *qs)
{
    static const char hello[] = "hello from the guest\n";
    if (start_device(base, qs, 3, 0)) return -1;
    no_interrupts(qs, 3);
    cid = *(volatile uint32_t *)(base + CONFIG);
    puts("vsock cid="); putu((uint32_t)cid); puts("\r\n");
    for (uint16_t i = 0; i < VS_RX_BUFFERS; i++) post(base, 0, &qs[0], i, vs_rx[i], VS_BUFFER, DESC_WRITE);
    struct vsock_hdr h; int slot;

    vs_send(base, &qs[1], 1234, 5001, VS_REQUEST, 0, 0, 0);
    if (vs_receive(base, &qs[0], &h, &slot, 5) || h.op != VS_RESPONSE) { problem = "host port 5001 did not accept"; return -1; }
    vs_return(base, &qs[0], slot);
    vs_send(base, &qs[1], 1234, 5001, VS_RW, 0, (const uint8_t *)hello, sizeof hello - 1);
    vs_send(base, &qs[1], 1234, 5001, VS_SHUTDOWN, 3, 0, 0);
    puts("vsock connected to host port 5001, sent hello\r\n");

    puts("vsock listening on port 5000\r\n");
    uint32_t peer = 0, echoed = 0;
    for (;;) {
        if (vs_receive(base, &qs[0], &h, &slot, 30)) { problem = "no host connection to port 5000"; return -1; }
        if (h.dst_port != 5000) { vs_return(base, &qs[0], slot); continue; }   /* the RST closing port 1234 */
        if (h.op == VS_REQUEST) { peer = h.src_port; vs_return(base, &qs[0], slot); vs_send(base, &qs[1], 5000, peer, VS_RESPONSE, 0, 0, 0); continue; }
        if (h.op == VS_RW && h.src_port == peer) {
            uint32_t n = h.len;
            vs_fwd_cnt += n;
            vs_send(base, &qs[1], 5000, peer, VS_RW, 0, vs_rx[slot] + sizeof h, n);
            vs_return(base, &qs[0], slot);
            echoed += n;
            continue;
        }
        vs_return(base, &qs[0], slot);
        if (h.op == VS_SHUTDOWN || h.op == VS_RST) break;
    }
    vs_send(base, &qs[1], 5000, peer, VS_SHUTDOWN, 3, 0, 0);
    puts("vsock echoed "); putu(echoed); puts(" bytes on port 5000\r\n");
    return 0;
}

/* --- virtio.ckpt[=<n>]: devices kept busy for the checkpoint tests (tests/PvhVm.Core.Tests/Checkpoints/) --- */

enum { CKPT_FIRST_SECTOR = 16, CKPT_RO_SECTORS = 16, CKPT_DEFAULT_RECORDS = 1500, VS_EVENT_QUEUE = 2 };
static uint8_t ckpt_sector[512] __attribute__((aligned(16)));
static uint8_t ckpt_ro[512] __attribute__((aligned(16)));
static volatile uint8_t vs_event[4];

/* One record: "CKPT", n, 16 bytes of virtio-rng, the first 8 bytes of the read-only disk's sector n % 16, written to
 * sector 16 + n of the writable disk. */
static int ckpt_record(uint32_t rw, struct queue *rwq, uint32_t ro, struct queue *roq, uint32_t rng, struct queue *rngq, uint32_t n)
{
    for (int i = 0; i < 512; i++) ckpt_sector[i] = 0;
    ckpt_sector[0] = 'C'; ckpt_sector[1] = 'K'; ckpt_sector[2] = 'P'; ckpt_sector[3] = 'T';
    *(uint32_t *)(ckpt_sector + 4) = n;
    if (rng) {
        set_desc(rngq, 0, ckpt_sector + 8, 16, DESC_WRITE);
        if (submit(rng, rngq, 1)) return -1;
    }
    if (ro) {
        if (blk_request_into(ro, roq, BLK_IN, n % CKPT_RO_SECTORS, ckpt_ro, 512)) return -1;
        copy(ckpt_sector + 24, ckpt_ro, 8);
    }
    return blk_request_into(rw, rwq, BLK_OUT, CKPT_FIRST_SECTOR + n, ckpt_sector, 512);
}

/* Each UDP datagram to port 9: its payload (printable bytes, at most 32) and the MAC the device's configuration holds now. */
static void ckpt_net_poll(uint32_t base, struct queue *qs)
{
    uint32_t len;
    int slot;
    while ((slot = take_used(&qs[0], &len, 0)) >= 0) {
        const volatile uint8_t *f = net_rx[slot] + NET_HDR;
        uint32_t frame = len > NET_HDR ? len - NET_HDR : 0;
        if (frame >= 42 && be16(f + 12) == 0x0800 && f[23] == 17 && be16(f + 36) == 9) {
            puts("ckpt net udp ");
            for (uint32_t i = 42; i < frame && i < 42 + 32; i++) putc(f[i] >= 0x20 && f[i] < 0x7f ? (char)f[i] : '.');
            uint8_t now[6];
            for (int i = 0; i < 6; i++) now[i] = *(volatile uint8_t *)(base + CONFIG + i);
            puts(" mac="); putmac(now); puts("\r\n");
        }
        post(base, 0, &qs[0], (uint16_t)slot, net_rx[slot], sizeof net_rx[slot], DESC_WRITE);
    }
}

/* The event queue (a transport reset: new CID, every connection gone) and one echoed connection on port 5000 at a time. */
static void ckpt_vsock_poll(uint32_t base, struct queue *qs, uint32_t *peer)
{
    uint32_t len;
    if (take_used(&qs[VS_EVENT_QUEUE], &len, 0) >= 0) {
        uint32_t id = *(volatile uint32_t *)vs_event;
        cid = *(volatile uint32_t *)(base + CONFIG);
        *peer = 0;
        puts("vsock event "); putu(id); puts(", cid="); putu((uint32_t)cid); puts("\r\n");
        post(base, VS_EVENT_QUEUE, &qs[VS_EVENT_QUEUE], 0, vs_event, sizeof vs_event, DESC_WRITE);
    }
    struct vsock_hdr h; int slot;
    while (vs_receive(base, &qs[0], &h, &slot, 0) == 0) {
        if (h.dst_port == 5000 && h.op == VS_REQUEST) {
            *peer = h.src_port;
            vs_fwd_cnt = 0;
            vs_return(base, &qs[0], slot);
            vs_send(base, &qs[1], 5000, *peer, VS_RESPONSE, 0, 0, 0);
            puts("vsock accepted\r\n");
        } else if (h.dst_port == 5000 && h.op == VS_RW && h.src_port == *peer) {
            vs_fwd_cnt += h.len;
            vs_send(base, &qs[1], 5000, *peer, VS_RW, 0, vs_rx[slot] + sizeof h, h.len);
            vs_return(base, &qs[0], slot);
            puts("vsock echoed "); putu(h.len); puts("\r\n");
        } else {
            vs_return(base, &qs[0], slot);
            if (h.op == VS_SHUTDOWN || h.op == VS_RST) { puts("vsock connection ended\r\n"); *peer = 0; }
        }
    }
}

/* Starts every device, then forever: the next record (until n are written), datagrams, vsock packets. */
static void run_ckpt(const char *value, const uint32_t *bases, int count)
{
    uint32_t records = value && *value == '=' ? (value++, parse_number(&value)) : CKPT_DEFAULT_RECORDS;
    uint32_t rw = 0, ro = 0, rng = 0, net = 0, vsock = 0, peer = 0;
    struct queue *rwq = 0, *roq = 0, *rngq = 0, *netq = 0, *vsq = 0;
    for (int i = 0; i < count; i++) {
        uint32_t base = bases[i], id = rd(base, DEVICE_ID);
        struct queue *q = queues[i];
        problem = 0;
        if (id == 2 && !rw) { rw = base; rwq = q; if (start_device(base, q, 1, 1u << F_BLK_FLUSH)) break; }
        else if (id == 2) { ro = base; roq = q; if (start_device(base, q, 1, 0)) break; }
        else if (id == 4) { rng = base; rngq = q; if (start_device(base, q, 1, 0)) break; }
        else if (id == 1) {
            net = base; netq = q;
            if (start_device(base, q, 2, 1u << F_NET_MAC)) break;
            no_interrupts(q, 2);
            for (uint16_t b = 0; b < NET_RX_BUFFERS; b++) post(base, 0, &q[0], b, net_rx[b], sizeof net_rx[b], DESC_WRITE);
            for (int m = 0; m < 6; m++) mac[m] = *(volatile uint8_t *)(base + CONFIG + m);
            puts("net mac="); putmac(mac); puts("\r\n");
        } else if (id == 19) {
            vsock = base; vsq = q;
            if (start_device(base, q, 3, 0)) break;
            no_interrupts(q, 3);
            cid = *(volatile uint32_t *)(base + CONFIG);
            for (uint16_t b = 0; b < VS_RX_BUFFERS; b++) post(base, 0, &q[0], b, vs_rx[b], VS_BUFFER, DESC_WRITE);
            post(base, VS_EVENT_QUEUE, &q[VS_EVENT_QUEUE], 0, vs_event, sizeof vs_event, DESC_WRITE);
            puts("vsock cid="); putu((uint32_t)cid); puts(", listening on port 5000\r\n");
        }
    }
    if (problem) { puts("ckpt: "); puts(problem); puts("\r\n"); return; }
    puts("ckpt ready\r\n");
    for (uint32_t n = 0;;) {
        if (rw && n < records) {
            if (ckpt_record(rw, rwq, ro, roq, rng, rngq, n)) { puts("ckpt: "); puts(problem); puts("\r\n"); return; }
            puts("ckpt blk "); putu(n); puts("\r\n");
            if (++n == records) puts("ckpt blk done\r\n");
        }
        if (net) ckpt_net_poll(net, netq);
        if (vsock) ckpt_vsock_poll(vsock, vsq, &peer);
    }
}

int main(void)
{
    const uint32_t *info = (const uint32_t *)start_info_paddr;
    const char *cmdline = (const char *)info[6]; /* cmdline_paddr, low half (the guest sees only 4 GiB) */
    uint32_t bases[MAX_DEVICES], irqs[MAX_DEVICES];
    int count = cmdline ? find_devices(cmdline, bases, irqs) : 0;
    for (const char *p = cmdline; p && *p; p++) {
        static const char *const keys[] = { "virtio.reads=", "virtio.seq=", "virtio.rand=" };
        uint32_t *const counts[] = { &extra_reads, &seq_reads, &rand_reads };
        for (int key = 0; key < 3; key++) {
            int k = 0;
            while (keys[key][k] && p[k] == keys[key][k]) k++;
            if (!keys[key][k]) { const char *q = p + k; *counts[key] = parse_number(&q); }
        }
        static const char *const flags[] = { "virtio.loop", "virtio.discard" };
        int *const set[] = { &loop_first, &discard_steps };
        for (int flag = 0; flag < 2; flag++) {
            int k = 0;
            while (flags[flag][k] && p[k] == flags[flag][k]) k++;
            if (!flags[flag][k]) *set[flag] = 1;
        }
    }
    const char *source = " device(s) on the command line\r\n";
    const uint8_t *dsdt = count ? 0 : find_dsdt(info);
    if (dsdt) { count = find_dsdt_devices(dsdt, bases, irqs); source = " device(s) in the DSDT\r\n"; }
    if (!count) { puts("virtio: no devices\r\n"); return 0; }
    puts("virtio: "); putu((uint32_t)count); puts(source);
    net_options(cmdline);
    const char *ckpt = option(cmdline, "virtio.ckpt");
    if (ckpt) { run_ckpt(ckpt, bases, count); return 0; }

    for (int i = 0; i < count; i++) {
        uint32_t base = bases[i];
        puts("dev "); putu((uint32_t)i); puts(" at "); puthex(base); puts(" irq "); putu(irqs[i]);
        if (rd(base, MAGIC) != 0x74726976 || rd(base, VERSION) != 2) { puts(": not a virtio-mmio version 2 device\r\n"); continue; }
        uint32_t id = rd(base, DEVICE_ID);
        puts(": id "); putu(id); puts("\r\n");
        problem = 0;
        int failed = id == 2 ? run_block(base, queues[i]) : id == 4 ? run_entropy(base, queues[i])
            : id == 1 ? run_net(base, queues[i]) : id == 19 ? run_vsock(base, queues[i]) : 0;
        if (failed) { puts("dev "); putu((uint32_t)i); puts(": "); puts(problem); puts("\r\n"); }
        wr(base, STATUS, 0);
    }
    puts("virtio done\r\n");
    return 0;
}
