// pvhfloor: the smallest VMM that boots a PVH probe ELF on /dev/kvm, to measure the floor of a
// probe round trip on this host. Per run: open /dev/kvm, create a VM with an in-kernel irqchip,
// map guest RAM, copy the PT_LOADs, write hvm_start_info + e820 + GDT, set the PVH entry state,
// run the vCPU until the i8042 reset (0xFE to port 0x64), tear everything down.
//
// usage: pvhfloor <probe.elf> [runs] [memory-MiB] [coalesce]
// Prints one line per run: "<milliseconds> <exits> <console-bytes>".
// With "coalesce", writes to the UART's data port (0x3F8) go into KVM's coalesced-PIO ring instead of
// exiting to user space (KVM_CAP_COALESCED_PIO), drained at every exit: what that saves per console byte.
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GDT_ADDR 0x1000
#define START_INFO_ADDR 0x6000
#define MEMMAP_ADDR 0x6100
#define CMDLINE_ADDR 0x7000
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static void die(const char *what) { perror(what); exit(1); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t pvh_entry(const uint8_t *elf, size_t size) {
    const Elf64_Ehdr *eh = (const void *)elf;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(elf + eh->e_phoff + (size_t)i * eh->e_phentsize);
        if (ph->p_type != PT_NOTE) continue;
        size_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;
        while (off + sizeof(Elf64_Nhdr) <= end && end <= size) {
            const Elf64_Nhdr *nh = (const void *)(elf + off);
            size_t name = off + sizeof(*nh), desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh->n_namesz == 4 && !memcmp(elf + name, "Xen", 4))
                return *(const uint32_t *)(elf + desc);
            off = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    fprintf(stderr, "no PVH note\n");
    exit(1);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type) {
    *s = (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
                              .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1};
}

// Console bytes waiting in the coalesced-PIO ring; 0 when there is no ring.
static long drain_ring(struct kvm_coalesced_mmio_ring *ring) {
    if (!ring) return 0;
    const uint32_t max = (getpagesize() - sizeof(*ring)) / sizeof(struct kvm_coalesced_mmio);
    long n = 0;
    while (ring->first != ring->last) {
        n += ring->coalesced_mmio[ring->first].len;
        __atomic_store_n(&ring->first, (ring->first + 1) % max, __ATOMIC_RELEASE);
    }
    return n;
}

static void one_run(const uint8_t *elf, size_t elf_size, size_t mem_size, int coalesce, double *ms, long *exits, long *bytes) {
    double t0 = now_ms();
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000) < 0) die("KVM_SET_TSS_ADDR");
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");
    uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) die("mmap");
    struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
                                                 .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

    const Elf64_Ehdr *eh = (const void *)elf;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(elf + eh->e_phoff + (size_t)i * eh->e_phentsize);
        if (ph->p_type != PT_LOAD) continue;
        memcpy(mem + ph->p_paddr, elf + ph->p_offset, ph->p_filesz);
        memset(mem + ph->p_paddr + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    }
    uint32_t entry = pvh_entry(elf, elf_size);

    uint64_t *gdt = (uint64_t *)(mem + GDT_ADDR);
    gdt[1] = 0x00cf9b000000ffffull; // code
    gdt[2] = 0x00cf93000000ffffull; // data
    gdt[3] = 0x00008b0000000067ull; // busy TSS
    strcpy((char *)mem + CMDLINE_ADDR, "console=ttyS0");
    struct { uint64_t addr, size; uint32_t type, reserved; } *map = (void *)(mem + MEMMAP_ADDR);
    map[0].addr = 0; map[0].size = 0x9fc00; map[0].type = 1;
    map[1].addr = 0x100000; map[1].size = mem_size - 0x100000; map[1].type = 1;
    uint32_t *si = (uint32_t *)(mem + START_INFO_ADDR);
    si[0] = 0x336ec578; si[1] = 1; si[2] = 0; si[3] = 0;             // magic, version, flags, nr_modules
    *(uint64_t *)(si + 4) = 0; *(uint64_t *)(si + 6) = CMDLINE_ADDR; // modlist, cmdline
    *(uint64_t *)(si + 8) = 0; *(uint64_t *)(si + 10) = MEMMAP_ADDR; // rsdp, memmap
    si[12] = 2;                                                       // memmap_entries

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) die("mmap kvm_run");
    struct kvm_coalesced_mmio_ring *ring = NULL;
    if (coalesce) {
        // COALESCED_PIO answers yes/no; the ring's page offset in the vCPU mapping comes from COALESCED_MMIO.
        int page = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
        if (page <= 0 || ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0) { fprintf(stderr, "no coalesced PIO\n"); exit(1); }
        struct kvm_coalesced_mmio_zone zone = {.addr = 0x3f8, .size = 1, .pio = 1};
        if (ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0) die("KVM_REGISTER_COALESCED_MMIO");
        ring = (void *)((uint8_t *)run + (size_t)page * getpagesize());
    }
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    set_seg(&sregs.cs, 0x08, 0xb);
    set_seg(&sregs.ds, 0x10, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.tr = (struct kvm_segment){.base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1};
    sregs.gdt.base = GDT_ADDR; sregs.gdt.limit = 4 * 8 - 1;
    sregs.cr0 = 0x11; sregs.cr4 = 0; sregs.efer = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = entry, .rbx = START_INFO_ADDR, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

    long n = 0, out = 0;
    for (int done = 0; !done;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) { if (errno == EINTR) continue; die("KVM_RUN"); }
        n++;
        out += drain_ring(ring);
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            if (run->io.direction == KVM_EXIT_IO_OUT) {
                if (run->io.port == 0x3f8) out += run->io.count;
                else if (run->io.port == 0x64 && data[0] == 0xfe) done = 1;
            } else {
                memset(data, run->io.port == 0x3fd ? 0x60 : 0xff, run->io.size * run->io.count);
            }
            break;
        }
        case KVM_EXIT_MMIO:
            if (!run->mmio.is_write) memset(run->mmio.data, 0xff, sizeof run->mmio.data);
            break;
        case KVM_EXIT_HLT: case KVM_EXIT_SHUTDOWN:
            done = 1;
            break;
        default:
            fprintf(stderr, "exit reason %u\n", run->exit_reason);
            exit(1);
        }
    }
    out += drain_ring(ring);
    munmap(run, run_size);
    close(vcpu);
    close(vm);
    munmap(mem, mem_size);
    close(kvm);
    *ms = now_ms() - t0;
    *exits = n;
    *bytes = out;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s <probe.elf> [runs] [memory-MiB]\n", argv[0]); return 2; }
    int runs = argc > 2 ? atoi(argv[2]) : 1;
    size_t mem_size = (size_t)(argc > 3 ? atoi(argv[3]) : 256) << 20;
    int coalesce = argc > 4 && !strcmp(argv[4], "coalesce");
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) die(argv[1]);
    uint8_t *elf = malloc(st.st_size);
    if (read(fd, elf, st.st_size) != st.st_size) die("read");
    close(fd);
    for (int i = 0; i < runs; i++) {
        double ms; long exits, bytes;
        one_run(elf, st.st_size, mem_size, coalesce, &ms, &exits, &bytes);
        printf("%.3f %ld %ld\n", ms, exits, bytes);
    }
    return 0;
}
