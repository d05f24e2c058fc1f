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
 *   pvhtest: action=<poweroff | reboot | halt>   (from pvhtest.action=; poweroff when absent)
 * then waits for the console to drain and calls reboot(2) with that command. If reboot returns, it says so and waits forever.
 */
#include "nolibc.h"

#define PREFIX "pvhtest: "

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
