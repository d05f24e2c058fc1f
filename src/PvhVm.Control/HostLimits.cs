namespace PvhVm.Control;

/// <summary>
/// Resource limits for a VM's host process, enforced by the kernel through cgroups (<see cref="VmCgroups"/>).
/// </summary>
/// <param name="MemoryLimitMB">RAM and swap together, in MiB: the host's own memory and every guest page it touched. Past it the kernel's OOM killer ends the host (the VM shows Failed, killed by SIGKILL).</param>
/// <param name="CpuQuotaPercent">CPU time per 100 ms period, in percent of one CPU (200 = two CPUs' worth): the CFS quota.</param>
public sealed record HostLimits(int? MemoryLimitMB = null, int? CpuQuotaPercent = null)
{
    public bool IsEmpty => MemoryLimitMB is null && CpuQuotaPercent is null;
}
