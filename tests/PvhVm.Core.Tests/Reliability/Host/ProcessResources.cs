using System.Globalization;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>What the process holds, from /proc/self: open descriptors, mappings, threads, resident memory.</summary>
internal readonly record struct ProcessResources(int Descriptors, int Mappings, int Threads, long ResidentKiB)
{
    public static ProcessResources Now()
    {
        // Settle the managed side first, so that finalizable garbage does not read as a leak.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var rss = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return new ProcessResources(
            Directory.GetFileSystemEntries("/proc/self/fd").Length,
            File.ReadLines("/proc/self/maps").Count(),
            Directory.GetDirectories("/proc/self/task").Length,
            long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
    }

    public override string ToString() => $"{Descriptors} fds, {Mappings} mappings, {Threads} threads, {ResidentKiB / 1024} MiB RSS";
}

/// <summary>Tests that measure the whole process run alone, after every parallel test class.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial: whole-process measurements";
}
