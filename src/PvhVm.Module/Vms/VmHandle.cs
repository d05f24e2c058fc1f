using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;
using PvhVm.Module.Logging;

namespace PvhVm.Module.Vms;

/// <summary>
/// What every cmdlet knows of a VM, whichever process runs it: the one VM-handle interface, with two implementations -
/// <see cref="InProcessVm"/> (the engine in this pwsh, New-PvhVm -InProcess) and <see cref="HostProcessVm"/> (a
/// pvhvm-host process of its own, a client of its socket). The handle is also the pipeline object (PvhVm.Vm): its
/// properties read the VM as it is now.
/// </summary>
public abstract class VmHandle
{
    public abstract string Name { get; }

    public abstract Guid Id { get; }

    /// <summary>Where the VM runs: in this pwsh, or in a host process of its own that outlives it.</summary>
    public abstract VmHosting Hosting { get; }

    /// <summary>The host process's id; null for an in-process VM.</summary>
    public abstract int? HostProcessId { get; }

    public abstract VmConfig Config { get; }

    /// <summary>State, exit reason, fault and times, read together.</summary>
    public abstract VmStatus Status { get; }

    /// <summary>What the kernel image declares; null when the image cannot be read any more.</summary>
    public abstract BootInfo? BootInfo { get; }

    public abstract long ConsoleLineCount { get; }

    public abstract long DroppedConsoleLines { get; }

    public VmState State => Status.State;

    public VmExitReason? ExitReason => Status.ExitReason;

    public VmFault? Fault => Status.Fault;

    public DateTimeOffset? StartTime => Status.StartTime;

    public DateTimeOffset? StopTime => Status.StopTime;

    /// <summary>Running time: until now while it runs, until it stopped after.</summary>
    public TimeSpan? Uptime => Status is { StartTime: { } start } status ? (status.StopTime ?? DateTimeOffset.Now) - start : null;

    public int ProcessorCount => Config.ProcessorCount;

    public int MemoryMB => Config.MemoryMB;

    public string KernelPath => Config.KernelPath;

    public string? InitrdPath => Config.InitrdPath;

    public string CommandLine => Config.CommandLine;

    public uint? VsockCid => Config.HasVsock ? Config.VsockCid : null;

    public string? VsockPath => Config.HasVsock ? Config.VsockPath : null;

    /// <summary>New-PvhVm -MemoryLimitMB: the host process's memory limit (its cgroup's); null without one, and in-process.</summary>
    public virtual int? MemoryLimitMB => null;

    /// <summary>New-PvhVm -CpuQuotaPercent: the host process's CPU quota, percent of one CPU; null without one, and in-process.</summary>
    public virtual int? CpuQuotaPercent => null;

    /// <summary>What the engine placed where in guest memory; empty before the VM starts (and for a host that has ended).</summary>
    public IReadOnlyList<LayoutRegion> MemoryMap => MemoryLayout().Regions;

    /// <summary>The e820 map handed to the guest; empty before the VM starts (and for a host that has ended).</summary>
    public IReadOnlyList<E820Entry> E820Map => MemoryLayout().E820;

    public override string ToString() => Name;

    /// <summary>Whether the VM is still there to act on: not removed (by this session or, for a host process, any other).</summary>
    internal abstract bool Exists { get; }

    /// <summary>
    /// The engine's messages not yet written to a pipeline, oldest first, each taken once: an in-process VM's from the
    /// queue its engine logs into, a host-process VM's from its host's log file.
    /// </summary>
    internal abstract IEnumerable<LogEntry> TakeLog();

    internal abstract void Start();

    /// <summary>Stops the running VM; an InvalidOperationException when it is not running (never started, or stopped meanwhile).</summary>
    internal abstract void Stop();

    /// <summary>True once the VM has exited; false on timeout or cancellation.</summary>
    internal abstract bool WaitForExit(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Console lines after sequence <paramref name="after"/> (or the last <paramref name="tail"/> of them); with a wait, once
    /// there is one, the VM has ended or the wait is over. Completed: the VM has ended and these are its last lines.
    /// </summary>
    internal abstract ConsoleRead ReadConsole(long after, int? tail, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>Bytes into the guest's UART; how many it accepted.</summary>
    internal abstract int SendConsole(byte[] bytes);


    /// <summary>The guest layout and its e820 map once started; empty before.</summary>
    internal abstract (IReadOnlyList<LayoutRegion> Regions, IReadOnlyList<E820Entry> E820) MemoryLayout();

    internal abstract IReadOnlyList<VmDisk> GetDisks();

    internal abstract VmDisk AddDisk(DiskConfig disk);

    internal abstract bool RemoveDisk(string guestName);

    internal abstract IReadOnlyList<VmNetworkAdapter> GetNetworkAdapters();

    internal abstract VmNetworkAdapter AddNetworkAdapter(NetworkAdapterConfig adapter);

    internal abstract bool RemoveNetworkAdapter(string tapName);

    /// <summary>Pauses the running VM: every vCPU out of the guest and parked, devices quiet, the guest's clock held.</summary>
    internal abstract void Suspend();

    /// <summary>Lets the paused VM run on from where <see cref="Suspend"/> stopped it.</summary>
    internal abstract void Resume();

    /// <summary>Saves the paused VM to <paramref name="folder"/> (new or empty).</summary>
    internal abstract Checkpoint CreateCheckpoint(string folder);

    /// <summary>Ends the VM (it must not be running, or the caller stopped it) and frees what it holds; false if it was gone already.</summary>
    internal abstract bool Remove();

    /// <summary>
    /// The first console line (including those printed before the call) matching <paramref name="pattern"/>; null when the
    /// VM ended without one, on timeout, or on cancellation.
    /// </summary>
    internal ConsoleLine? WaitForConsolePattern(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var after = -1L;
        while (!cancellationToken.IsCancellationRequested)
        {
            var left = timeout == Timeout.InfiniteTimeSpan ? MaxConsoleWait : timeout - clock.Elapsed;
            var read = ReadConsole(after, tail: null, left < TimeSpan.Zero ? TimeSpan.Zero : left < MaxConsoleWait ? left : MaxConsoleWait, cancellationToken);
            foreach (var line in read.Lines)
            {
                if (pattern.IsMatch(line.Text))
                {
                    return line;
                }

                after = line.Sequence;
            }

            if (read.Completed || timeout != Timeout.InfiniteTimeSpan && clock.Elapsed >= timeout)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The longest single console wait: a long poll over a host's socket is bounded by the host (60 s).</summary>
    internal static readonly TimeSpan MaxConsoleWait = TimeSpan.FromSeconds(30);
}

/// <summary>Lines read from a VM's console, and whether the VM has ended (no line after these will come).</summary>
internal sealed record ConsoleRead(IReadOnlyList<ConsoleLine> Lines, bool Completed);

/// <summary>Where a VM runs.</summary>
public enum VmHosting
{
    /// <summary>In a pvhvm-host process of its own, detached from the pwsh that made it; every pwsh of the user sees it.</summary>
    HostProcess,

    /// <summary>In the pwsh process that made it (New-PvhVm -InProcess); it ends with that process or Remove-Module.</summary>
    InProcess,
}
