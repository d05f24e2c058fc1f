using System.Globalization;

namespace PvhVm.Control;

/// <summary>
/// A VM's own cgroups (cgroup v1: one directory per controller), with its limits written: made by the launcher under a
/// "pvhvm" folder in the launcher's own cgroup of each hierarchy, so the VM's limits nest inside whatever limits the
/// launching session already has. The host process runs in them from its exec on (HostLauncher's monitor shell puts
/// it there), so all its memory is charged to them, and the monitor removes them once the host has ended.
/// </summary>
public sealed class VmCgroups
{
    public const string ParentName = "pvhvm";

    /// <summary>The CFS period the quota is a share of: the kernel's default, 100 ms.</summary>
    private const long PeriodMicroseconds = 100_000;

    private VmCgroups(IReadOnlyList<string> directories) => Directories = directories;

    /// <summary>The cgroup directories the host runs in, one per controller a limit needs.</summary>
    public IReadOnlyList<string> Directories { get; }

    /// <summary>
    /// Makes the cgroups for a VM's folder with these limits. Throws <see cref="CgroupUnavailableException"/> when a
    /// controller's hierarchy is not mounted or cannot be written; nothing is left behind then.
    /// </summary>
    public static VmCgroups Create(string folderName, HostLimits limits)
    {
        var settings = new List<(string Controller, (string File, string Value)[] Files)>();
        if (limits.MemoryLimitMB is { } megabytes)
        {
            var bytes = (megabytes * 1024L * 1024L).ToString(CultureInfo.InvariantCulture);
            // memsw (RAM + swap) after the RAM limit, which it may not be below; absent when the kernel does no swap accounting.
            settings.Add(("memory", [("memory.limit_in_bytes", bytes), ("memory.memsw.limit_in_bytes", bytes)]));
        }

        if (limits.CpuQuotaPercent is { } percent)
        {
            settings.Add(("cpu", [
                ("cpu.cfs_period_us", PeriodMicroseconds.ToString(CultureInfo.InvariantCulture)),
                ("cpu.cfs_quota_us", (percent * PeriodMicroseconds / 100).ToString(CultureInfo.InvariantCulture)),
            ]));
        }

        // A unique leaf: a VM of the same name made right after this one ends must not meet its predecessor's cgroup.
        var leaf = $"{folderName}-{Guid.NewGuid().ToString("N")[..8]}";
        var made = new List<string>();
        try
        {
            foreach (var (controller, files) in settings)
            {
                // mountinfo also lists a hierarchy hidden under a later mount: only a cgroup.procs file shows the cgroup is there.
                var current = CgroupHierarchy.CurrentDirectory(controller);
                if (current is null || !File.Exists(Path.Combine(current, "cgroup.procs")))
                {
                    throw new CgroupUnavailableException(
                        $"No cgroup v1 hierarchy with the {controller} controller is mounted where /proc/self/mountinfo says ({current ?? "nowhere"}): the limit cannot be applied. PvhVm applies limits through cgroup v1 only (docs/HOST.md).",
                        current ?? "/proc/self/mountinfo");
                }

                var directory = Path.Combine(current, ParentName, leaf);
                MakeDirectory(directory);
                made.Add(directory);
                foreach (var (file, value) in files)
                {
                    Write(Path.Combine(directory, file), value, optional: file.StartsWith("memory.memsw.", StringComparison.Ordinal));
                }
            }
        }
        catch
        {
            new VmCgroups(made).Delete();
            throw;
        }

        return new VmCgroups(made);
    }

    /// <summary>
    /// Removes the cgroups; one still holding a process stays. The pvhvm parents stay too: removing one could race
    /// another launcher making its VM's cgroup in it.
    /// </summary>
    public void Delete()
    {
        foreach (var directory in Directories)
        {
            try
            {
                Directory.Delete(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone already (the monitor removed it) or still in use.
            }
        }
    }

    private static void MakeDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupUnavailableException($"Cannot make the cgroup {directory}: {e.Message}", directory, e);
        }
    }

    private static void Write(string path, string value, bool optional)
    {
        if (optional && !File.Exists(path))
        {
            return;
        }

        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CgroupUnavailableException($"Cannot write {value} to {path}: {e.Message}", path, e);
        }
    }
}
