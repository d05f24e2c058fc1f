/*
 * /init of the test initramfs: reports what the VMM passed, then does what the command line asks.
 * Built on the kernel's own nolibc (tools/include/nolibc): raw system calls, no TLS, no C library start-up,
 * because a glibc program's thread-local storage reads zero at start on hosts like kvm_pvm.
 *
 * Every line it prints starts with "pvhtest: " so tests can tell it from kernel messages:
 *   pvhtest: init pid=1
 *   pvhtest: uptime=<seconds since boot, from /proc/uptime>
 *   pvhtest: cmdline=<contents of /proc/cmdline>
 *   pvhtest: memtotal_kb=<MemTotal from /proc/meminfo>
 *   pvhtest: cpus=<processor entries in /proc/cpuinfo>
 *   pvhtest: marker=<contents of /pvhtest-marker, a file only this initramfs has>
 *   pvhtest: syscall6=<ok | error N>   (mmap: six arguments, r10 r8 r9 included)
 *   pvhtest: int80_getpid=<1>         (int $0x80, the 32-bit system call entry)
 *   with pvhtest.disk=1 on the command line (a VM with a disk and an entropy source; devtmpfs on /dev):
 *   pvhtest: disk_marker=<sector 0 of /dev/vda up to its first newline or NUL, at most 63 bytes>
 *   pvhtest: disk_write=<ok | error N>  (DISK_WRITTEN at DISK_WRITE_OFFSET of /dev/vda, then fsync)
 *   pvhtest: disk_discard=<ok | error N>  (BLKDISCARD of the 64 KiB at 2 MiB)
 *   pvhtest: disk_zeroout=<ok | error N>  (BLKZEROOUT of the 64 KiB at 3 MiB)
 *   pvhtest: hwrng=<32 bytes of /dev/hwrng in hex | error N>   (the only hardware RNG is virtio_rng)
 *   pvhtest: action=<poweroff | reboot | halt>   (from pvhtest.action=; poweroff when absent)
 * then waits for the console to drain and calls reboot(2) with that command. If reboot returns, it says so and waits forever.
 */
#include "nolibc.h"

#define PREFIX "pvhtest: "

/* What the disk mode writes, and where: 1 MiB into /dev/vda, a page the tests read back from the image file. */
#define DISK_WRITE_OFFSET (1 << 20)
#define DISK_WRITTEN "PVHTEST LINUX WROTE THIS PAGE\n"

static char buffer[16384];

/* Reads a whole (small) file into buffer, NUL-terminated; returns its length or -errno. */
static int read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	int length = 0;

	if (fd < 0)
		return -errno;
	while (length < (int)sizeof(buffer) - 1) {
		ssize_t got = read(fd, buffer + length, sizeof(buffer) - 1 - length);

		if (got <= 0)
			break;
		length += got;
	}
	close(fd);
	buffer[length] = '\0';
	return length;
}

static void chomp(void)
{
	size_t length = strlen(buffer);

	while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == ' '))
		buffer[--length] = '\0';
}

static void report_file(const char *name, const char *path)
{
	int length = read_file(path);

	if (length < 0) {
		printf(PREFIX "%s=error %d\n", name, -length);
		return;
	}
	chomp();
	printf(PREFIX "%s=%s\n", name, buffer);
}

/* The value of "key" at the start of a line of buffer ("MemTotal:       123 kB" -> 123); -1 when absent. */
static long line_value(const char *key)
{
	size_t key_length = strlen(key);
	const char *line = buffer;

	while (*line) {
		if (strncmp(line, key, key_length) == 0) {
			const char *p = line + key_length;

			while (*p == ' ' || *p == '\t' || *p == ':')
				p++;
			return atol(p);
		}
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	return -1;
}

static int count_lines_starting(const char *key)
{
	size_t key_length = strlen(key);
	const char *line = buffer;
	int count = 0;

	while (line && *line) {
		if (strncmp(line, key, key_length) == 0)
			count++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return count;
}

/* Six arguments, so r10, r8 and r9 must all reach the kernel: flags, fd -1 and offset 0 are each checked. */
static void report_six_argument_call(void)
{
	volatile long *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		printf(PREFIX "syscall6=error %d\n", errno);
		return;
	}
	page[0] = 0x5a5a;
	printf(PREFIX "syscall6=%s\n", page[0] == 0x5a5a ? "ok" : "error readback");
	munmap((void *)page, 4096);
}

/* int $0x80 from 64-bit code runs a 32-bit system call: getpid (20) must answer 1. */
static void report_int80(void)
{
	long result = 20;

	__asm__ volatile("int $0x80" : "+a"(result) : : "memory", "r8", "r9", "r10", "r11");
	printf(PREFIX "int80_getpid=%ld\n", result);
}

/* Whether the kernel command line (buffer holds /proc/cmdline) has the word "word". */
static int has_word(const char *word)
{
	size_t length = strlen(word);
	const char *p;

	for (p = buffer; *p; p++) {
		if ((p == buffer || p[-1] == ' ') && strncmp(p, word, length) == 0
		    && (p[length] == '\0' || p[length] == ' ' || p[length] == '\n'))
			return 1;
	}
	return 0;
}

/* virtio_blk's DISCARD and WRITE_ZEROES: BLKDISCARD on the 64 KiB at 2 MiB of the disk and BLKZEROOUT on the 64 KiB at
 * 3 MiB, both of which the host filled; the test reads the image file back. */
static void discard_and_zero_out(int fd)
{
	unsigned long long discard[2] = { 2 << 20, 64 << 10 }, zero_out[2] = { 3 << 20, 64 << 10 };

	if (ioctl(fd, 0x1277 /* BLKDISCARD */, discard) < 0)
		printf(PREFIX "disk_discard=error %d\n", errno);
	else
		printf(PREFIX "disk_discard=ok\n");
	if (ioctl(fd, 0x127f /* BLKZEROOUT */, zero_out) < 0)
		printf(PREFIX "disk_zeroout=error %d\n", errno);
	else
		printf(PREFIX "disk_zeroout=ok\n");
}

/* Linux's virtio_blk and virtio_rng at work: read a marker the host put on the disk, write a page, sync, read hwrng. */
static void exercise_disk_and_entropy(void)
{
	static char page[4096];
	unsigned char random[32];
	int fd, i, got;

	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0)
		printf(PREFIX "mount /dev: error %d\n", errno);

	fd = open("/dev/vda", O_RDWR);
	if (fd < 0) {
		printf(PREFIX "disk_marker=error %d\n", errno);
	} else {
		got = read(fd, page, 64);
		for (i = 0; i < got && i < 63 && page[i] != '\n' && page[i] != '\0'; i++)
			;
		page[i] = '\0';
		printf(PREFIX "disk_marker=%s\n", got < 0 ? "error" : page);

		memset(page, 0, sizeof(page));
		memcpy(page, DISK_WRITTEN, sizeof(DISK_WRITTEN) - 1);
		if (lseek(fd, DISK_WRITE_OFFSET, SEEK_SET) != DISK_WRITE_OFFSET || write(fd, page, sizeof(page)) != sizeof(page))
			printf(PREFIX "disk_write=error %d\n", errno);
		else if (fsync(fd) < 0)
			printf(PREFIX "disk_write=error fsync %d\n", errno);
		else
			printf(PREFIX "disk_write=ok\n");
		discard_and_zero_out(fd);
		close(fd);
	}

	fd = open("/dev/hwrng", O_RDONLY);
	got = fd < 0 ? -1 : read(fd, random, sizeof(random));
	if (got != (int)sizeof(random)) {
		printf(PREFIX "hwrng=error %d\n", errno);
	} else {
		char hex[2 * sizeof(random) + 1];	/* nolibc's printf has no field width */

		for (i = 0; i < got; i++) {
			hex[2 * i] = "0123456789abcdef"[random[i] >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[random[i] & 15];
		}
		hex[2 * got] = '\0';
		printf(PREFIX "hwrng=%s\n", hex);
	}
	if (fd >= 0)
		close(fd);
}

/* The value of "pvhtest.action=" among the words of the kernel command line (buffer holds /proc/cmdline). */
static const char *requested_action(void)
{
	static char action[16] = "poweroff";
	const char *key = "pvhtest.action=";
	size_t key_length = strlen(key);
	const char *word = buffer;

	while (*word) {
		size_t length = 0;

		while (word[length] && word[length] != ' ' && word[length] != '\n')
			length++;

		if (length > key_length && strncmp(word, key, key_length) == 0 && length - key_length < sizeof(action)) {
			memcpy(action, word + key_length, length - key_length);
			action[length - key_length] = '\0';
		}
		word += length;
		while (*word == ' ' || *word == '\n')
			word++;
	}
	return action;
}

int main(void)
{
	const char *action;
	int command;

	printf(PREFIX "init pid=%d\n", getpid());
	if (mount("proc", "/proc", "proc", 0, NULL) < 0)
		printf(PREFIX "mount /proc: error %d\n", errno);

	report_file("uptime", "/proc/uptime");
	if (read_file("/proc/meminfo") >= 0)
		printf(PREFIX "memtotal_kb=%ld\n", line_value("MemTotal"));
	if (read_file("/proc/cpuinfo") >= 0)
		printf(PREFIX "cpus=%d\n", count_lines_starting("processor"));
	report_file("marker", "/pvhtest-marker");
	report_six_argument_call();
	report_int80();
	report_file("cmdline", "/proc/cmdline");
	if (has_word("pvhtest.disk=1"))
		exercise_disk_and_entropy();

	read_file("/proc/cmdline");
	action = requested_action();
	if (strcmp(action, "reboot") == 0)
		command = LINUX_REBOOT_CMD_RESTART;
	else if (strcmp(action, "halt") == 0)
		command = LINUX_REBOOT_CMD_HALT;
	else
		command = LINUX_REBOOT_CMD_POWER_OFF;
	printf(PREFIX "action=%s\n", action);
	/* Wait until the UART has sent every line: reboot(2) does not flush the console tty. */
	ioctl(1, TCSBRK, (void *)1);	/* tcdrain */
	reboot(command);

	printf(PREFIX "reboot(%s) returned: error %d\n", action, errno);
	for (;;)
		sleep(3600);
}
