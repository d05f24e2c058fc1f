/*
 * virtio.c - a freestanding virtio-mmio driver guest (32-bit, paging off, one vCPU, polling, no interrupts).
 *
 * It finds its devices where Linux does: the kernel command line's virtio_mmio.device=<size>@<base>:<irq> entries
 * (QEMU microvm with acpi=off appends them), else the DSDT's LNRO0005 devices (PvhVm, and QEMU microvm with ACPI),
 * whose _CRS holds a Memory32Fixed window and an extended Interrupt.
 * For each virtio-blk it reads sector 0, writes sector 8, flushes, reads sector 8 back and asks for the serial;
 * for each virtio-rng it asks for 64 bytes. Every step is one request on queue 0, waited for by polling the
 * used ring (bounded). It prints what it did on COM1 and ends with the i8042 reset.
 *
 * Output contract (COM1, "\r\n" line ends; values differ only with the disk's content and serial):
 *   virtio: <n> device(s) on the command line             (or "in the DSDT"; 0: "virtio: no devices")
 *   dev <i> at 0x%08x irq %u: id %u                        then, per device id:
 *   blk capacity=%u sectors                                (block, id 2)
 *   blk sector 0: <first 32 bytes, non-printables as '.'>
 *   blk wrote sector 8
 *   blk flush ok
 *   blk sector 8 reads back ok
 *   blk serial=<GET_ID's bytes up to the first NUL>
 *   rng 64 bytes, not all zero                            (entropy, id 4)
 *   dev <i>: <what failed>                                 instead of the rest of that device's lines
 *   virtio done
 */
#include <stdint.h>

#define COM1 0x3f8
#define MAX_DEVICES 8
#define QUEUE_SIZE 8
#define POLL_LIMIT 100000000u

/* virtio-mmio registers (VIRTIO 1.2, 4.2.2) */
enum {
    MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
    DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
    QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064,
    STATUS = 0x070, QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
    QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4, CONFIG = 0x100,
};
enum { ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 64 };
enum { F_BLK_FLUSH = 9, F_VERSION_1_HIGH = 0 /* bit 32 = bit 0 of the high word */ };
enum { DESC_NEXT = 1, DESC_WRITE = 2 };
enum { BLK_IN = 0, BLK_OUT = 1, BLK_FLUSH = 4, BLK_GET_ID = 8 };

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QUEUE_SIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QUEUE_SIZE]; uint16_t avail_event; };
struct blk_header { uint32_t type, reserved; uint64_t sector; };

struct queue {
    struct desc desc[QUEUE_SIZE] __attribute__((aligned(16)));
    struct avail avail __attribute__((aligned(4)));
    struct used used __attribute__((aligned(4)));
    uint16_t next_avail, last_used;
};

static struct queue queues[MAX_DEVICES];
static struct blk_header header;
static uint8_t data[512] __attribute__((aligned(512)));
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

/* Publishes descriptor chain 0..n-1, notifies, and polls for its return; 0 on success. */
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
        if (rd(base, STATUS) & NEEDS_RESET) { problem = "device needs reset"; return -1; }
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

/* Reset, features (VERSION_1, and wanted_low of the low word when offered), queue 0, DRIVER_OK. */
static int start_device(uint32_t base, struct queue *q, uint32_t wanted_low)
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
    wr(base, QUEUE_SEL, 0);
    if (rd(base, QUEUE_NUM_MAX) < QUEUE_SIZE) { problem = "queue 0 too small"; return -1; }
    wr(base, QUEUE_NUM, QUEUE_SIZE);
    wr(base, QUEUE_DESC_LOW, (uint32_t)q->desc);
    wr(base, QUEUE_DESC_HIGH, 0);
    wr(base, QUEUE_DRIVER_LOW, (uint32_t)&q->avail);
    wr(base, QUEUE_DRIVER_HIGH, 0);
    wr(base, QUEUE_DEVICE_LOW, (uint32_t)&q->used);
    wr(base, QUEUE_DEVICE_HIGH, 0);
    wr(base, QUEUE_READY, 1);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    if (rd(base, STATUS) & NEEDS_RESET) { problem = "needs reset after DRIVER_OK"; return -1; }
    return 0;
}

/* One block request: header, optional data (device-writable for IN and GET_ID), status. */
static int blk_request(uint32_t base, struct queue *q, uint32_t type, uint32_t sector, uint32_t length)
{
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    int n = 0;
    set_desc(q, n++, &header, sizeof header, DESC_NEXT);
    if (length) set_desc(q, n++, data, length, DESC_NEXT | (type == BLK_OUT ? 0 : DESC_WRITE));
    set_desc(q, n++, &status, 1, DESC_WRITE);
    if (submit(base, q, n)) return -1;
    if (status != 0) { problem = "request failed"; return -1; }
    return 0;
}

static int run_block(uint32_t base, struct queue *q)
{
    static const char marker[] = "PVHVM VIRTIO GUEST WAS HERE (sector 8)";
    if (start_device(base, q, 1u << F_BLK_FLUSH)) return -1;
    puts("blk capacity="); putu(rd(base, CONFIG)); puts(" sectors\r\n");

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
    return 0;
}

static int run_entropy(uint32_t base, struct queue *q)
{
    if (start_device(base, q, 0)) return -1;
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

int main(void)
{
    const uint32_t *info = (const uint32_t *)start_info_paddr;
    const char *cmdline = (const char *)info[6]; /* cmdline_paddr, low half (the guest sees only 4 GiB) */
    uint32_t bases[MAX_DEVICES], irqs[MAX_DEVICES];
    int count = cmdline ? find_devices(cmdline, bases, irqs) : 0;
    const char *source = " device(s) on the command line\r\n";
    const uint8_t *dsdt = count ? 0 : find_dsdt(info);
    if (dsdt) { count = find_dsdt_devices(dsdt, bases, irqs); source = " device(s) in the DSDT\r\n"; }
    if (!count) { puts("virtio: no devices\r\n"); return 0; }
    puts("virtio: "); putu((uint32_t)count); puts(source);

    for (int i = 0; i < count; i++) {
        uint32_t base = bases[i];
        puts("dev "); putu((uint32_t)i); puts(" at "); puthex(base); puts(" irq "); putu(irqs[i]);
        if (rd(base, MAGIC) != 0x74726976 || rd(base, VERSION) != 2) { puts(": not a virtio-mmio version 2 device\r\n"); continue; }
        uint32_t id = rd(base, DEVICE_ID);
        puts(": id "); putu(id); puts("\r\n");
        problem = 0;
        int failed = id == 2 ? run_block(base, &queues[i]) : id == 4 ? run_entropy(base, &queues[i]) : 0;
        if (failed) { puts("dev "); putu((uint32_t)i); puts(": "); puts(problem); puts("\r\n"); }
        wr(base, STATUS, 0);
    }
    puts("virtio done\r\n");
    return 0;
}
