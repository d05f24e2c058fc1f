namespace PvhVm.Core.Machine;

/// <summary>The host's physical RAM, from /proc/meminfo, read once.</summary>
internal static class HostMemory
{
    private static readonly Lazy<ulong> Total = new(ReadTotal);

    public static ulong TotalBytes => Total.Value;

    private static ulong ReadTotal()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            // "MemTotal:       24612345 kB"
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal)
                && ulong.TryParse(line["MemTotal:".Length..].Trim().Split(' ')[0], out var kib))
            {
                return kib * 1024;
            }
        }

        return ulong.MaxValue;
    }
}
