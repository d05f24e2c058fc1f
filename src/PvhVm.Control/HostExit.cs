namespace PvhVm.Control;

/// <summary>How a host process ended: killed by a signal, or exited with a code.</summary>
public sealed record HostExit(int? Signal, int? ExitCode)
{
    /// <summary>The shell's $?: 128+n for a process killed by signal n. The host never exits with a code above 127.</summary>
    public static HostExit FromShellStatus(int status) => status > 128 ? new(status - 128, null) : new(null, status);

    public override string ToString() => Signal is { } signal
        ? $"the host process was killed by signal {signal} ({SignalName(signal)})"
        : $"the host process exited with code {ExitCode}";

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
        31 => "SIGSYS",
        _ => $"signal {signal}",
    };
}
