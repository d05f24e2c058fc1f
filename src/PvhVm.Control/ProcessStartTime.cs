namespace PvhVm.Control;

/// <summary>
/// Field 22 (starttime) of /proc/&lt;pid&gt;/stat, in clock ticks since boot. A pid together with its start time names one
/// process for good: a recycled pid has another start time, so a dead host is never mistaken for a live one.
/// </summary>
public static class ProcessStartTime
{
    /// <summary>The start time of a live process; null when there is none with this pid (or it is a zombie: it has ended).</summary>
    public static long? Of(int pid) => Fields(pid) is { } fields ? long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The process group of a live process (a host's is its monitor shell's pid: setsid made it the leader); null when none.</summary>
    public static int? GroupOf(int pid) => Fields(pid) is { } fields ? int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until the process with this pid and start time has ended; true when it
    /// has. A zombie has ended.
    /// </summary>
    public static bool WaitForEnd(int pid, long startTicks, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (IsAlive(pid, startTicks))
        {
            if (clock.Elapsed >= timeout)
            {
                return false;
            }

            Thread.Sleep(2);
        }

        return true;
    }

    /// <summary>The fields of /proc/&lt;pid&gt;/stat from field 3 on, for a live process; null for none or a zombie.</summary>
    private static string[]? Fields(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may hold spaces or ')': the fields after it follow the last ')'.
        // fields[0] is field 3, the state; fields[2] field 5, the process group; fields[19] field 22, the start time.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[0] == "Z" ? null : fields;
    }

    /// <summary>Whether the process that had this pid and start time is still alive.</summary>
    public static bool IsAlive(int pid, long startTicks) => Of(pid) == startTicks;
}
