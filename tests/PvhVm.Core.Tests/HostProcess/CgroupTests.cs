using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>
/// A host launched with limits runs in cgroups of its own that carry them, read back from the kernel through the
/// process's /proc/&lt;pid&gt;/cgroup; the cgroups go when the host ends, however it ends.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CgroupTests : IDisposable
{
    private readonly HostedVmScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public async Task AHostRunsInCgroupsWithItsLimitsWhichGoWhenItIsDeleted()
    {
        var (folder, vm) = HostLauncher.Launch(_scope.Directory, Config("limited"), HostedVmScope.HostPath, new HostLimits(MemoryLimitMB: 96, CpuQuotaPercent: 50));
        var memory = CgroupOf(vm.ProcessId, "memory");
        var cpu = CgroupOf(vm.ProcessId, "cpu");
        Assert.Equal(VmCgroups.ParentName, Path.GetFileName(Path.GetDirectoryName(memory)));
        Assert.StartsWith(folder.Name + "-", Path.GetFileName(memory));
        Assert.Equal(96L * 1024 * 1024, ReadNumber(memory, "memory.limit_in_bytes"));
        Assert.Equal(96L * 1024 * 1024, ReadNumber(memory, "memory.memsw.limit_in_bytes"));
        Assert.Equal(100_000, ReadNumber(cpu, "cpu.cfs_period_us"));
        Assert.Equal(50_000, ReadNumber(cpu, "cpu.cfs_quota_us"));
        // Nested under the launcher's own cgroup: the session's limits still hold for the VM.
        Assert.Equal(CgroupOf(Environment.ProcessId, "memory"), Path.GetDirectoryName(Path.GetDirectoryName(memory)));

        using var client = new HostClient(folder.SocketPath);
        await client.ActAsync(VmAction.Start);
        Assert.Equal(VmExitReason.GuestReset, (await client.GetVmAsync(waitForExit: TimeSpan.FromSeconds(20))).Status.ExitReason);
        // The VM's memory is charged to its cgroup: the host joined before it created the VM.
        Assert.True(ReadNumber(memory, "memory.max_usage_in_bytes") >= 1024 * 1024, "less than 1 MiB charged to the VM's cgroup");

        await client.DeleteAsync();
        HostedVmScope.WaitForExit(vm);
        WaitUntilGone(memory);
        WaitUntilGone(cpu);
    }

    [Fact]
    public void AKilledHostsCgroupsAreRemovedByItsMonitor()
    {
        var (folder, vm) = HostLauncher.Launch(_scope.Directory, Config("killed"), HostedVmScope.HostPath, new HostLimits(MemoryLimitMB: 128));
        var memory = CgroupOf(vm.ProcessId, "memory");
        Assert.True(Directory.Exists(memory));
        System.Diagnostics.Process.GetProcessById(vm.ProcessId).Kill();
        Assert.Equal(9, HostedVmScope.WaitForExitStatus(folder).Signal);
        WaitUntilGone(memory);
    }

    [Fact]
    public void AMemoryLimitBelowWhatTheHostNeedsEndsItThroughTheOomKiller()
    {
        // The monitor read the OOM kill from the memory cgroup before removing it: the failure says why, not only SIGKILL.
        var failure = Assert.Throws<HostOutOfMemoryException>(() => HostLauncher.Launch(_scope.Directory, Config("starved"), HostedVmScope.HostPath, new HostLimits(MemoryLimitMB: 1)));
        Assert.Contains("killed by the kernel's OOM killer before it was ready: its memory limit of 1 MiB", failure.Message);
        Assert.Empty(_scope.Directory.Folders());
    }

    [Fact]
    public void WithoutLimitsTheHostStaysInTheLaunchersCgroups()
    {
        var (_, vm) = HostLauncher.Launch(_scope.Directory, Config("unlimited"), HostedVmScope.HostPath);
        Assert.Equal(CgroupOf(Environment.ProcessId, "memory"), CgroupOf(vm.ProcessId, "memory"));
    }

    [Fact]
    public void FindsAControllersCgroupDirectoryFromMountinfoAndProcCgroup()
    {
        // This host: cgroup v1, one hierarchy per controller, a hybrid cgroup2 beside them.
        const string mountInfo = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """;
        const string procCgroup = "4:memory:/process_api/a9d7\n1:cpu:/\n0::/\n";
        Assert.Equal("/sys/fs/cgroup/memory/process_api/a9d7", CgroupHierarchy.CurrentDirectory("memory", mountInfo, procCgroup));
        Assert.Equal("/sys/fs/cgroup/cpu", CgroupHierarchy.CurrentDirectory("cpu", mountInfo, procCgroup));
        Assert.Null(CgroupHierarchy.CurrentDirectory("pids", mountInfo, procCgroup));

        // systemd's co-mounted cpu,cpuacct, an escaped space, optional fields before the separator.
        const string coMounted = @"40 31 0:36 / /sys/fs/cgroup/cpu,cpu\040acct rw shared:17 - cgroup cgroup rw,cpu,cpuacct";
        Assert.Equal("/sys/fs/cgroup/cpu,cpu acct/user.slice", CgroupHierarchy.CurrentDirectory("cpu", coMounted, "3:cpu,cpuacct:/user.slice/"));

        // A container's view of a sub-tree (no cgroup namespace): the mount's root is the container's cgroup.
        const string subTree = "50 40 0:32 /docker/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory";
        Assert.Equal("/sys/fs/cgroup/memory/app", CgroupHierarchy.CurrentDirectory("memory", subTree, "4:memory:/docker/c1/app"));
        Assert.Null(CgroupHierarchy.CurrentDirectory("memory", subTree, "4:memory:/docker/c2"));

        // cgroup v2 only: no v1 hierarchy to put a limit in.
        Assert.Null(CgroupHierarchy.CurrentDirectory("memory", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", "0::/user.slice"));
    }

    private static VmConfig Config(string name) => new(name, GuestImages.PathOf("probe"), null, "console=ttyS0", 16);

    /// <summary>The directory of a process's cgroup for a controller, as the kernel reports it for that process.</summary>
    private static string CgroupOf(int pid, string controller)
        => CgroupHierarchy.CurrentDirectory(controller, File.ReadAllText($"/proc/{pid}/mountinfo"), File.ReadAllText($"/proc/{pid}/cgroup"))
            ?? throw new InvalidOperationException($"process {pid} has no cgroup v1 {controller} hierarchy");

    private static long ReadNumber(string directory, string file) => long.Parse(File.ReadAllText(Path.Combine(directory, file)).Trim());

    private static void WaitUntilGone(string directory)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (Directory.Exists(directory))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"{directory} is still there");
            Thread.Sleep(10);
        }
    }
}
