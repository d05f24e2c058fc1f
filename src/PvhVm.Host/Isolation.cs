using System.Runtime.InteropServices;

namespace PvhVm.Host;

/// <summary>
/// What the host does to itself, Firecracker's jailer as the anchor: no descriptors it did not open, no_new_privs, and a
/// seccomp filter that lets through only the system calls it was measured to make (docs/SECURITY.md). A call outside the
/// list kills the process with SIGSYS: the kernel logs the call (audit type 1326, "syscall=N") and the monitor records
/// the signal, so the VM shows Failed "killed by signal 31 (SIGSYS)", never a silent misbehaviour.
/// </summary>
internal static class Isolation
{
    private const int F_GETFD = 1;
    private const int FD_CLOEXEC = 1;
    private const int PR_SET_NO_NEW_PRIVS = 38;
    private const int SYS_seccomp = 317;
    private const int SECCOMP_SET_MODE_FILTER = 1;
    private const int SECCOMP_FILTER_FLAG_TSYNC = 1;
    private const uint AUDIT_ARCH_X86_64 = 0xC000003E;
    private const uint SECCOMP_RET_KILL_PROCESS = 0x80000000;
    private const uint SECCOMP_RET_ALLOW = 0x7FFF0000;
    private const uint X32_SYSCALL_BIT = 0x40000000;

    /// <summary>
    /// Every system call the host makes once it serves, by number (x86-64). Measured with strace -f over whole lifecycles
    /// (create, start, console follow and input, memory map, stop, malformed requests, delete; the echo and probe guests);
    /// the few marked "unmeasured" are what the same code paths use under other conditions (glibc's clone fallback, a
    /// sleep, a vectored write, the console file's rotation by renameat).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, uint> AllowedSystemCalls = new Dictionary<string, uint>
    {
        ["read"] = 0, ["write"] = 1, ["close"] = 3, ["stat"] = 4, ["fstat"] = 5, ["lstat"] = 6, ["lseek"] = 8, ["mmap"] = 9,
        ["mprotect"] = 10, ["munmap"] = 11, ["brk"] = 12, ["rt_sigaction"] = 13, ["rt_sigprocmask"] = 14, ["rt_sigreturn"] = 15,
        ["ioctl"] = 16, ["poll"] = 7 /* CoreCLR */, ["pread64"] = 17, ["pwrite64"] = 18, ["writev"] = 20 /* unmeasured */, ["sched_yield"] = 24,
        ["mremap"] = 25 /* unmeasured */, ["madvise"] = 28, ["dup2"] = 33, ["nanosleep"] = 35 /* unmeasured */, ["getpid"] = 39,
        ["sendto"] = 44, ["recvfrom"] = 45 /* unmeasured */, ["sendmsg"] = 46 /* unmeasured */, ["recvmsg"] = 47, ["shutdown"] = 48,
        ["clone"] = 56 /* unmeasured */, ["exit"] = 60, ["fcntl"] = 72, ["flock"] = 73, ["ftruncate"] = 77, ["rename"] = 82,
        ["rmdir"] = 84, ["unlink"] = 87, ["readlink"] = 89, ["getrusage"] = 98, ["sysinfo"] = 99, ["sigaltstack"] = 131 /* unmeasured */,
        ["statfs"] = 137, ["fstatfs"] = 138, ["prctl"] = 157, ["gettid"] = 186, ["futex"] = 202, ["sched_getaffinity"] = 204,
        ["getdents64"] = 217, ["restart_syscall"] = 219 /* unmeasured */, ["clock_gettime"] = 228 /* unmeasured: vDSO */,
        ["clock_nanosleep"] = 230 /* unmeasured */, ["exit_group"] = 231, ["epoll_wait"] = 232, ["epoll_ctl"] = 233, ["tgkill"] = 234,
        ["get_mempolicy"] = 239, ["openat"] = 257, ["newfstatat"] = 262, ["unlinkat"] = 263 /* unmeasured */,
        ["renameat"] = 264 /* unmeasured */, ["readlinkat"] = 267 /* unmeasured */, ["set_robust_list"] = 273,
        ["epoll_pwait"] = 281 /* unmeasured */, ["accept4"] = 288, ["eventfd2"] = 290, ["pipe2"] = 293, ["prlimit64"] = 302,
        ["renameat2"] = 316 /* the state file's exchange */, ["getrandom"] = 318, ["membarrier"] = 324, ["statx"] = 332, ["rseq"] = 334,
        ["clone3"] = 435,

        // CoreCLR's own, measured from the kernel's seccomp log when the framework-dependent build (the one xunit runs
        // without PVHVM_HOST_PATH) was confined: its finalizer thread and its socket engine thread.
        ["sched_getparam"] = 143, ["sched_setscheduler"] = 144, ["sched_getscheduler"] = 145, ["sched_get_priority_max"] = 146,
        ["sched_get_priority_min"] = 147, ["sched_setaffinity"] = 203,

        // The devices, measured the same way over the Pester network and disk tests (vsock to and from the guest, a tap in
        // a namespace, writable and read-only disks and their locks): vsock's private directory and Unix sockets, the
        // disk's flush, the image's access check; discard and write-zeroes punch or zero ranges of the image.
        ["socket"] = 41, ["connect"] = 42, ["bind"] = 49, ["listen"] = 50, ["getsockopt"] = 55 /* unmeasured: a connect that does not complete at once */,
        ["mkdir"] = 83, ["fdatasync"] = 75, ["geteuid"] = 107, ["fallocate"] = 285,
    };

    /// <summary>
    /// Closes every descriptor above stderr that came through exec: those lack FD_CLOEXEC, while the runtime opens all of
    /// its own with it. Run first thing, before the host opens anything.
    /// </summary>
    public static void CloseInheritedDescriptors()
    {
        var inherited = Directory.GetFiles("/proc/self/fd")
            .Select(path => int.Parse(Path.GetFileName(path), System.Globalization.CultureInfo.InvariantCulture))
            .Where(fd => fd > 2 && HostLibc.Fcntl(fd, F_GETFD) is var flags && flags >= 0 && (flags & FD_CLOEXEC) == 0)
            .ToList();
        foreach (var fd in inherited)
        {
            HostLibc.Close(fd);
        }
    }

    /// <summary>no_new_privs, then the filter on every thread of the process (TSYNC: the runtime's threads exist already).</summary>
    public static void Confine()
    {
        if (HostLibc.Prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        {
            throw new InvalidOperationException($"prctl(PR_SET_NO_NEW_PRIVS): {Marshal.GetLastPInvokeErrorMessage()}");
        }

        var program = FilterProgram();
        unsafe
        {
            fixed (SockFilter* instructions = program)
            {
                var fprog = new SockFprog { Length = (ushort)program.Length, Filter = instructions };
                var result = HostLibc.Syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, (nint)(&fprog));
                if (result != 0)
                {
                    throw new InvalidOperationException(result > 0
                        ? $"seccomp: thread {result} could not take the filter"
                        : $"seccomp: {Marshal.GetLastPInvokeErrorMessage()}");
                }
            }
        }
    }

    /// <summary>The classic BPF program: x86-64 only, no x32 calls, then one comparison per allowed number.</summary>
    internal static SockFilter[] FilterProgram()
    {
        const ushort LoadWordAbsolute = 0x20, JumpIfEqual = 0x15, JumpIfGreaterOrEqual = 0x35, Return = 0x06;
        const uint ArchOffset = 4, NumberOffset = 0;
        var numbers = AllowedSystemCalls.Values.Order().ToArray();
        var n = numbers.Length;
        var program = new List<SockFilter>
        {
            new(LoadWordAbsolute, 0, 0, ArchOffset),
            new(JumpIfEqual, 1, 0, AUDIT_ARCH_X86_64),
            new(Return, 0, 0, SECCOMP_RET_KILL_PROCESS),
            new(LoadWordAbsolute, 0, 0, NumberOffset),
            new(JumpIfGreaterOrEqual, (byte)n, 0, X32_SYSCALL_BIT),
        };
        for (var i = 0; i < n; i++)
        {
            // From the i-th comparison, the ALLOW after the final KILL is n - i instructions further on.
            program.Add(new(JumpIfEqual, (byte)(n - i), 0, numbers[i]));
        }

        program.Add(new(Return, 0, 0, SECCOMP_RET_KILL_PROCESS));
        program.Add(new(Return, 0, 0, SECCOMP_RET_ALLOW));
        return [.. program];
    }

    /// <summary>--check-seccomp: confines itself and makes a call off the list (getppid); the kernel must kill it with SIGSYS.</summary>
    public static int CheckSeccomp()
    {
        Confine();
        HostLibc.GetParentProcessId();
        return 1;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal readonly record struct SockFilter(ushort Code, byte JumpTrue, byte JumpFalse, uint K);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }
}
