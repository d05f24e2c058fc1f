namespace PvhVm.Control;

/// <summary>
/// Field 22 (starttime) of /proc/&lt;pid&gt;/stat, in clock ticks since boot. A pid together with its start time names one
/// process for good: a recycled pid has another start time, so a dead host is never mistaken for a live one.
/// </summary>
public static class ProcessStartTime
{
    /// <summary>The start time of a live process; null when there is none with this pid (or it is a zombie: it has ended).</summary>
    public static long? Of(int pid)
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
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3, the state; fields[19] is field 22.
        return fields[0] == "Z" ? null : long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the process that had this pid and start time is still alive.</summary>
    public static bool IsAlive(int pid, long startTicks) => Of(pid) == startTicks;
}
