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
 *   with pvhtest.net=1 (a VM with a virtio-net adapter whose tap the host addresses as NET_HOST):
 *   pvhtest: eth0=<NET_GUEST/24 up | error <step> N>   (ioctls on a UDP socket: no ip tool here)
 *   pvhtest: udp_reply=<the host's datagram | error <step> N>   (sent NET_UDP_TEXT to NET_HOST:NET_UDP_PORT, every
 *            half second until the host answers, at most NET_UDP_TRIES times)
 *   with pvhtest.vsock=1 (a VM with a virtio-vsock device):
 *   pvhtest: vsock_connect=<ok | error <step> N>   (sent VSOCK_HELLO to host port VSOCK_HOST_PORT, then closed)
 *   pvhtest: vsock_listening=<VSOCK_ECHO_PORT | error <step> N>
 *   pvhtest: vsock_cid=<the guest's CID, the first accepted connection's local address | error N>
 *   pvhtest: vsock_echoed=<bytes>   (per connection, VSOCK_ECHO_CONNECTIONS of them: echoes until the peer's EOF)
 *   with pvhtest.shell=1 (a command reader on the console, for tests that talk to a running or restored guest):
 *   pvhtest: ready   (then one answer per line read from the console, input echo off, kernel messages but
 *                     KERN_EMERG kept off the console)
 *     echo <text>        -> pvhtest: echo=<text>
 *     uptime             -> pvhtest: uptime=<contents of /proc/uptime>
 *     sleep <ms>         -> pvhtest: slept=<ms>   (after sleeping that long: the guest's timer interrupts work)
 *     disk-write <text>  -> pvhtest: disk_wrote=<ok | error N>   (<text> and a newline, NUL-padded to a page, at
 *                           SHELL_DISK_OFFSET of /dev/vda, then fsync)
 *     disk-read          -> pvhtest: disk_read=<the page at SHELL_DISK_OFFSET up to its first newline or NUL | error N>
 *     exit               -> pvhtest: exit   (the reader ends; /init goes on to its action)
 *     anything else      -> pvhtest: unknown=<the line>
 *   pvhtest: action=<poweroff | reboot | halt>   (from pvhtest.action=; poweroff when absent)
 * then waits for the console to drain and calls reboot(2) with that command. If reboot returns, it says so and waits forever.
 */
#include "nolibc.h"
#include <linux/in.h>
#include <linux/sockios.h>
#include <linux/termios.h>

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

/* Ends the text read into page (length bytes, or none when negative) at its first newline or NUL. */
static void cut_at_line_end(char *page, int length)
{
	int i;

	for (i = 0; i < length && page[i] != '\n' && page[i] != '\0'; i++)
		;
	page[i] = '\0';
}

/* Writes text, NUL-padded to a page, at offset of the disk fd and syncs it; prints "<key>=ok" or "<key>=error ...". */
static void write_page(int fd, off_t offset, const char *text, size_t length, const char *key)
{
	static char page[4096];

	if (length > sizeof(page))
		length = sizeof(page);
	memset(page, 0, sizeof(page));
	memcpy(page, text, length);
	if (lseek(fd, offset, SEEK_SET) != offset || write(fd, page, sizeof(page)) != sizeof(page))
		printf(PREFIX "%s=error %d\n", key, errno);
	else if (fsync(fd) < 0)
		printf(PREFIX "%s=error fsync %d\n", key, errno);
	else
		printf(PREFIX "%s=ok\n", key);
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
		got = read(fd, page, 63);
		cut_at_line_end(page, got);
		printf(PREFIX "disk_marker=%s\n", got < 0 ? "error" : page);

		write_page(fd, DISK_WRITE_OFFSET, DISK_WRITTEN, sizeof(DISK_WRITTEN) - 1, "disk_write");
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

/* The network mode's addresses and words: the test's own namespace, nothing routed (tests NetworkNamespace). */
#define NET_GUEST 0x0ad50002	/* 10.213.0.2 */
#define NET_HOST 0x0ad50001	/* 10.213.0.1 */
#define NET_MASK 0xffffff00
#define NET_UDP_PORT 7001
#define NET_UDP_TEXT "pvhtest udp from linux"
#define NET_UDP_TRIES 240
#define VSOCK_HOST_PORT 5001
#define VSOCK_HELLO "hello from linux\n"
#define VSOCK_ECHO_PORT 5000
#define VSOCK_ECHO_CONNECTIONS 2
#define IFF_UP 0x1
#define AF_INET 2
#define AF_VSOCK 40
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define VMADDR_CID_ANY 0xffffffffu
#define VMADDR_CID_HOST 2

/* nolibc has no socket calls and the UAPI's ifreq and sockaddr_vm need a C library's sys/socket.h: our own, same layout. */
struct interface_request {
	char name[16];
	union {
		struct sockaddr_in address;
		short flags;
		char size[24];
	};
};

struct vsock_address {
	unsigned short family;
	unsigned short reserved;
	unsigned int port;
	unsigned int cid;
	unsigned char zero[4];
};

static int socket(int domain, int type, int protocol) { return my_syscall3(__NR_socket, domain, type, protocol); }
static int connect(int fd, const void *address, int length) { return my_syscall3(__NR_connect, fd, address, length); }
static int bind(int fd, const void *address, int length) { return my_syscall3(__NR_bind, fd, address, length); }
static int listen(int fd, int backlog) { return my_syscall2(__NR_listen, fd, backlog); }
static int accept(int fd) { return my_syscall3(__NR_accept, fd, NULL, NULL); }
static int getsockname(int fd, void *address, int *length) { return my_syscall3(__NR_getsockname, fd, address, length); }
static int sendto(int fd, const void *data, size_t length, const void *address, int address_length)
{
	return my_syscall6(__NR_sendto, fd, data, length, 0, address, address_length);
}
static int recv(int fd, void *data, size_t length) { return my_syscall6(__NR_recvfrom, fd, data, length, 0, NULL, NULL); }

/* Writes all of data (a stream socket may take part); returns 0 or -errno. */
static int send_all(int fd, const char *data, int length)
{
	while (length > 0) {
		int sent = sendto(fd, data, length, NULL, 0);

		if (sent < 0)
			return sent;
		data += sent;
		length -= sent;
	}
	return 0;
}

static struct sockaddr_in ipv4_address(unsigned int address, unsigned short port)
{
	struct sockaddr_in result;

	memset(&result, 0, sizeof(result));
	result.sin_family = AF_INET;
	result.sin_port = __builtin_bswap16(port);
	result.sin_addr.s_addr = __builtin_bswap32(address);
	return result;
}

/* eth0 up with NET_GUEST/24 (the kernel adds the subnet's route), then one UDP exchange with the host. */
static void exercise_network(void)
{
	struct interface_request request;
	struct sockaddr_in host = ipv4_address(NET_HOST, NET_UDP_PORT);
	struct pollfd answer;
	int fd, result, tries;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		printf(PREFIX "eth0=error socket %d\n", -fd);
		return;
	}
	memset(&request, 0, sizeof(request));
	strcpy(request.name, "eth0");
	request.address = ipv4_address(NET_GUEST, 0);
	if ((result = ioctl(fd, SIOCSIFADDR, &request)) < 0) {
		printf(PREFIX "eth0=error SIOCSIFADDR %d\n", errno);
		goto out;
	}
	request.address = ipv4_address(NET_MASK, 0);
	if ((result = ioctl(fd, SIOCSIFNETMASK, &request)) < 0) {
		printf(PREFIX "eth0=error SIOCSIFNETMASK %d\n", errno);
		goto out;
	}
	if ((result = ioctl(fd, SIOCGIFFLAGS, &request)) < 0 || (request.flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &request)) < 0) {
		printf(PREFIX "eth0=error SIOCSIFFLAGS %d\n", errno);
		goto out;
	}
	printf(PREFIX "eth0=10.213.0.2/24 up\n");

	answer.fd = fd;
	answer.events = POLLIN;
	for (tries = 0; tries < NET_UDP_TRIES; tries++) {
		result = sendto(fd, NET_UDP_TEXT, sizeof(NET_UDP_TEXT) - 1, &host, sizeof(host));
		if (result < 0 && result != -EHOSTUNREACH && result != -ENETUNREACH) {
			printf(PREFIX "udp_reply=error sendto %d\n", -result);
			goto out;
		}
		if (poll(&answer, 1, 500) > 0)
			break;
	}
	if (tries == NET_UDP_TRIES) {
		printf(PREFIX "udp_reply=error timeout %d\n", tries);
		goto out;
	}
	result = recv(fd, buffer, sizeof(buffer) - 1);
	if (result < 0) {
		printf(PREFIX "udp_reply=error recv %d\n", -result);
		goto out;
	}
	buffer[result] = '\0';
	printf(PREFIX "udp_reply=%s\n", buffer);
out:
	close(fd);
}

/* Linux's vsock to the host: a connection of ours to VSOCK_HOST_PORT, then an echo on VSOCK_ECHO_PORT. */
static void exercise_vsock(void)
{
	struct vsock_address address, local;
	int local_length = sizeof(local);
	int fd, listener, connection, result, got, echoed;

	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0) {
		printf(PREFIX "vsock_connect=error socket %d\n", -fd);
		return;
	}
	memset(&address, 0, sizeof(address));
	address.family = AF_VSOCK;
	address.cid = VMADDR_CID_HOST;
	address.port = VSOCK_HOST_PORT;
	if ((result = connect(fd, &address, sizeof(address))) < 0)
		printf(PREFIX "vsock_connect=error connect %d\n", -result);
	else if ((result = send_all(fd, VSOCK_HELLO, sizeof(VSOCK_HELLO) - 1)) < 0)
		printf(PREFIX "vsock_connect=error send %d\n", -result);
	else
		printf(PREFIX "vsock_connect=ok\n");
	close(fd);

	listener = socket(AF_VSOCK, SOCK_STREAM, 0);
	address.cid = VMADDR_CID_ANY;
	address.port = VSOCK_ECHO_PORT;
	if ((result = bind(listener, &address, sizeof(address))) < 0 || (result = listen(listener, 1)) < 0) {
		printf(PREFIX "vsock_listening=error bind/listen %d\n", -result);
		close(listener);
		return;
	}
	printf(PREFIX "vsock_listening=%d\n", VSOCK_ECHO_PORT);
	for (connection = 0; connection < VSOCK_ECHO_CONNECTIONS; connection++) {
		fd = accept(listener);
		if (fd < 0) {
			printf(PREFIX "vsock_echoed=error accept %d\n", -fd);
			break;
		}
		/* An accepted socket's local address is the packet's destination: the CID the device gave this guest. */
		if (connection == 0 && (result = getsockname(fd, &local, &local_length)) < 0)
			printf(PREFIX "vsock_cid=error %d\n", -result);
		else if (connection == 0)
			printf(PREFIX "vsock_cid=%u\n", local.cid);
		echoed = 0;
		while ((got = recv(fd, buffer, sizeof(buffer))) > 0 && send_all(fd, buffer, got) == 0)
			echoed += got;
		printf(PREFIX "vsock_echoed=%d\n", echoed);
		close(fd);
	}
	close(listener);
}

/* The command reader's disk page: 5 MiB into /dev/vda, clear of the disk mode's pages (1, 2 and 3 MiB). */
#define SHELL_DISK_OFFSET (5 << 20)

/* Opens /dev/vda read-write, mounting devtmpfs on /dev first when the disk mode has not; returns the fd or -errno. */
static int open_shell_disk(void)
{
	int fd = open("/dev/vda", O_RDWR);

	if (fd < 0 && errno == ENOENT && mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0)
		fd = open("/dev/vda", O_RDWR);
	return fd < 0 ? -errno : fd;
}

static void shell_disk_write(const char *text)
{
	static char line[4096];
	size_t length = strlen(text);
	int fd = open_shell_disk();

	if (fd < 0) {
		printf(PREFIX "disk_wrote=error %d\n", -fd);
		return;
	}
	if (length > sizeof(line) - 1)
		length = sizeof(line) - 1;
	memcpy(line, text, length);
	line[length] = '\n';
	write_page(fd, SHELL_DISK_OFFSET, line, length + 1, "disk_wrote");
	close(fd);
}

static void shell_disk_read(void)
{
	static char page[4096];
	int fd = open_shell_disk(), got;

	if (fd < 0) {
		printf(PREFIX "disk_read=error %d\n", -fd);
		return;
	}
	if (lseek(fd, SHELL_DISK_OFFSET, SEEK_SET) != SHELL_DISK_OFFSET || (got = read(fd, page, sizeof(page) - 1)) < 0) {
		printf(PREFIX "disk_read=error %d\n", errno);
	} else {
		cut_at_line_end(page, got);
		printf(PREFIX "disk_read=%s\n", page);
	}
	close(fd);
}

/* Answers one line of the console (without its newline); returns 0 for exit. */
static int shell_command(const char *line)
{
	if (strncmp(line, "echo ", 5) == 0)
		printf(PREFIX "echo=%s\n", line + 5);
	else if (strcmp(line, "uptime") == 0)
		report_file("uptime", "/proc/uptime");
	else if (strncmp(line, "sleep ", 6) == 0) {
		msleep(atoi(line + 6));
		printf(PREFIX "slept=%d\n", atoi(line + 6));
	} else if (strncmp(line, "disk-write ", 11) == 0)
		shell_disk_write(line + 11);
	else if (strcmp(line, "disk-read") == 0)
		shell_disk_read();
	else if (strcmp(line, "exit") == 0) {
		printf(PREFIX "exit\n");
		return 0;
	} else
		printf(PREFIX "unknown=%s\n", line);
	return 1;
}

/* The command reader: echo off on the console tty (tests see only answers), then one answer per line until exit or EOF.
 * The tty is in canonical mode, so each read hands over one line (a longer one than the buffer comes in pieces). */
static void run_shell(void)
{
	static char line[1024];
	struct termios settings;

	if (ioctl(0, TCGETS, &settings) == 0) {
		settings.c_lflag &= ~(ECHO | ECHONL);
		ioctl(0, TCSETS, &settings);
	}
	/* Kernel messages off the console (console level 1: only KERN_EMERG passes), so none splits an answer: a restored
	 * clone's clock jump made "hrtimer: interrupt took N ns" land inside "slept=200". syslog(SYSLOG_ACTION_CONSOLE_LEVEL). */
	my_syscall3(__NR_syslog, 8, NULL, 1);
	printf(PREFIX "ready\n");
	for (;;) {
		ssize_t length = read(0, line, sizeof(line) - 1);

		if (length <= 0)
			return;
		while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
			length--;
		line[length] = '\0';
		if (length > 0 && !shell_command(line))
			return;
	}
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
	if (has_word("pvhtest.net=1"))
		exercise_network();
	read_file("/proc/cmdline");
	if (has_word("pvhtest.vsock=1"))
		exercise_vsock();

	read_file("/proc/cmdline");
	if (has_word("pvhtest.shell=1"))
		run_shell();

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
