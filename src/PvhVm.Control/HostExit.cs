namespace PvhVm.Control;

/// <summary>How a host process ended: killed by a signal, or exited with a code.</summary>
/// <param name="OutOfMemory">The kernel's OOM killer sent the signal: the host reached its memory limit (its cgroup's
/// memory.oom_control counted a kill).</param>
public sealed record HostExit(int? Signal, int? ExitCode, bool OutOfMemory = false)
{
    /// <summary>The shell's $?: 128+n for a process killed by signal n. The host never exits with a code above 127.</summary>
    public static HostExit FromShellStatus(int status, bool outOfMemory = false)
        => status > 128 ? new(status - 128, null, outOfMemory) : new(null, status, outOfMemory);

    /// <summary>What the monitor shell writes to host.exit: $?, and " oom" when the host's memory cgroup saw an OOM kill.</summary>
    public static HostExit? Parse(string text) => text.Trim().Split(' ') switch
    {
        [var status] when int.TryParse(status, out var value) => FromShellStatus(value),
        [var status, "oom"] when int.TryParse(status, out var value) => FromShellStatus(value, outOfMemory: true),
        _ => null,
    };

    public override string ToString() => Signal switch
    {
        { } signal when OutOfMemory => $"the host process was killed by signal {signal} ({SignalName(signal)}) from the kernel's OOM killer: it reached its memory limit (New-PvhVm -MemoryLimitMB)",
        // The seccomp filter kills with SIGSYS: say so, and where the call is named (the kernel logs it, audit type 1326).
        SIGSYS => $"the host process was killed by signal {SIGSYS} (SIGSYS): it made a system call its seccomp filter denies (the kernel log names it: audit type 1326, syscall=N)",
        { } signal => $"the host process was killed by signal {signal} ({SignalName(signal)})",
        null => $"the host process exited with code {ExitCode}",
    };

    private const int SIGSYS = 31;

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => $"signal {signal}",
    };
}
