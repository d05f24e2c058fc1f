using System.Management.Automation;
using PvhVm.Control;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Module.Logging;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Restore-PvhVm: starts a new VM from a checkpoint folder, running on from where the checkpoint was taken. Its RAM maps
/// the checkpoint's memory copy-on-write, so many VMs restored from one checkpoint share every page none has written.
/// -Clone names each VM after the checkpoint's VM with a number (web-1, web-2, ...); -Count restores that many at once.
/// Each restored VM runs in a host process of its own, as New-PvhVm makes them, or with -InProcess in this pwsh, whatever
/// hosting the checkpointed VM had.
/// </summary>
[Cmdlet(VerbsData.Restore, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(VmHandle))]
public sealed class RestorePvhVmCommand : PvhCmdlet
{
    /// <summary>The checkpoint folder; also bound from a piped string or a piped checkpoint's Path.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The new VM's name; by default the checkpoint's VM name (or, with -Clone, that name and a free number).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Gives each restored VM a name of its own: the checkpoint's VM name and the first free number.</summary>
    [Parameter]
    public SwitchParameter Clone { get; set; }

    /// <summary>With -Clone: how many VMs to restore from the checkpoint.</summary>
    [Parameter]
    [ValidateRange(1, 10_000)]
    public int Count { get; set; } = 1;

    /// <summary>Runs the restored VMs in this pwsh process, as New-PvhVm -InProcess does; by default each gets a host process.</summary>
    [Parameter]
    public SwitchParameter InProcess { get; set; }

    /// <summary>
    /// Per disk, in guest order (vda first): the image the restored VM uses instead of the checkpointed one. "{0}" in a
    /// path stands for the restored VM's name, so one path gives every clone an image of its own. A writable disk needs
    /// one; a read-only disk without one shares the checkpointed image.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? DiskPath { get; set; }

    /// <summary>Per network adapter, in guest order: the tap it attaches to ("{0}" as in -DiskPath); by default the checkpointed VM's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? TapName { get; set; }

    /// <summary>Per network adapter: its MAC; by default a new locally administered one for each restored VM.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? MacAddress { get; set; }

    /// <summary>The guest's vsock CID; by default the lowest that no VM of the user holds.</summary>
    [Parameter]
    [ValidateRange(3u, uint.MaxValue - 1)]
    public uint? VsockCid { get; set; }

    /// <summary>Each restored VM's host process memory (RAM and swap, guest pages included) in MiB, as New-PvhVm's.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? MemoryLimitMB { get; set; }

    /// <summary>Each restored VM's host process CPU time, in percent of one CPU, as New-PvhVm's.</summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int? CpuQuotaPercent { get; set; }

    protected override void ProcessRecord()
    {
        if (InProcess && (MemoryLimitMB is not null || CpuQuotaPercent is not null))
        {
            WriteError(VmErrors.LimitsNeedHostProcess(Name ?? Path));
            return;
        }

        if (!TryResolveFileSystemPath(Path, out var folder, out var error))
        {
            WriteError(error);
            return;
        }

        Checkpoint checkpoint;
        try
        {
            checkpoint = Checkpoint.Read(folder);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(EngineErrors.Record(e, folder));
            return;
        }

        // Names first (a clone's name skips those chosen before it), then the VMs: host processes start concurrently.
        var names = new List<string>();
        var count = Clone ? Count : 1;
        for (var i = 0; i < count; i++)
        {
            var name = Name ?? (Clone ? FreeCloneName(checkpoint.VmName, names) : checkpoint.VmName);
            if (VmRegistry.Contains(name))
            {
                WriteError(VmErrors.NameTaken(name));
                break;
            }

            if (ShouldProcess(name, $"Restore PVH VM from checkpoint '{checkpoint.Path}'"))
            {
                names.Add(name);
            }
        }

        // Each VM's identity (its images, taps, MACs, CID) is resolved here, in this session's current location.
        var restores = new List<CheckpointRestoreOptions>();
        foreach (var name in names)
        {
            if (RestoreOptions(name) is { } options)
            {
                restores.Add(options);
            }
        }

        if (InProcess)
        {
            foreach (var options in restores)
            {
                // As New-PvhVm -InProcess: a CID no VM of the user holds, host-process VMs included.
                if (!checkpoint.HasVsock)
                {
                    RestoreInProcess(checkpoint, options);
                }
                else if (TryChooseVsockCid(options.Name!, options.VsockCid, out var cid))
                {
                    RestoreInProcess(checkpoint, options with { VsockCid = cid });
                }
            }
        }
        else
        {
            RestoreInHostProcesses(checkpoint, restores);
        }
    }

    /// <summary>
    /// How many host processes are launched at once: a launch mostly waits (fork, exec, the host's start-up). Measured on
    /// the 2-core build host, 20 clones of one checkpoint: 730-1,900 ms one at a time, 160-250 ms eight at a time, no
    /// better sixteen at a time (docs/CHECKPOINTS.md).
    /// </summary>
    private const int ConcurrentLaunches = 8;

    /// <summary>
    /// Each VM restored and started by a host process of its own (the checkpoint is read again there: it is that process's
    /// input), several at a time; the VMs and errors are written in the order of the names.
    /// </summary>
    private void RestoreInHostProcesses(Checkpoint checkpoint, IReadOnlyList<CheckpointRestoreOptions> vms)
    {
        using var slots = new SemaphoreSlim(ConcurrentLaunches);
        // The launcher chooses a vsock clone's CID host-wide, under a lock; this session's in-process VMs are not in any folder.
        var inProcessCids = VmRegistry.InProcessVsockCids();
        var limits = new HostLimits(MemoryLimitMB, CpuQuotaPercent);
        var restores = new List<(string Name, Task<(HostProcessVm? Vm, Exception? Error)> Outcome)>();
        foreach (var options in vms)
        {
            var name = options.Name!;
            if (NewPvhVmCommand.SocketPathTooLong(name) is { } tooLong)
            {
                WriteError(tooLong);
                continue;
            }

            restores.Add((name, Task.Run(async () =>
            {
                await slots.WaitAsync(StopToken).ConfigureAwait(false);
                try
                {
                    return RestoreInHostProcess(checkpoint, options, inProcessCids, limits);
                }
                finally
                {
                    slots.Release();
                }
            }, StopToken)));
        }

        try
        {
            Task.WhenAll(restores.Select(restore => restore.Outcome)).Wait(StopToken);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the hosts launched so far run on, registered; the pipeline ends as stopped.
            throw new PipelineStoppedException();
        }

        foreach (var (name, outcome) in restores)
        {
            switch (outcome.Result)
            {
                case (null, VmFolderExistsException):
                    WriteError(VmErrors.NameTaken(name));
                    break;
                case (null, { } error):
                    WriteError(EngineErrors.Record(error, name));
                    break;
                case ({ } vm, { } error):
                    // The VM stays registered, Failed, as a VM whose boot failed does: Get-PvhVm shows why.
                    WriteError(EngineErrors.Record(error, vm));
                    break;
                case ({ } vm, null):
                    WriteObject(vm);
                    break;
            }
        }
    }

    /// <summary>Launches the host and starts its VM, on a worker thread: the VM (once launched) and what failed, if anything.</summary>
    private static (HostProcessVm? Vm, Exception? Error) RestoreInHostProcess(Checkpoint checkpoint, CheckpointRestoreOptions options, IReadOnlyList<uint> inProcessCids,
        HostLimits limits)
    {
        HostProcessVm vm;
        try
        {
            var request = new RestoreRequest(checkpoint.Path, options.Name!)
            {
                DiskPaths = options.DiskPaths,
                TapNames = options.TapNames,
                MacAddresses = options.MacAddresses,
                VsockCid = options.VsockCid,
            };
            var (folder, description) = HostLauncher.Launch(VmRegistry.Directory, request, checkpoint.HasVsock, NewPvhVmCommand.HostProgramPath, inProcessCids, limits);
            vm = VmRegistry.AddHostProcess(folder, description);
        }
        catch (Exception e)
        {
            return (null, e);
        }

        try
        {
            vm.Start();
            return (vm, null);
        }
        catch (Exception e)
        {
            return (vm, e);
        }
    }

    /// <summary>The identity of the VM named <paramref name="name"/>, with "{0}" in paths replaced by the name and disk paths resolved; null after an error.</summary>
    private CheckpointRestoreOptions? RestoreOptions(string name)
    {
        var disks = new List<string?>();
        foreach (var path in DiskPath ?? [])
        {
            if (!TryResolveFileSystemPath(path.Replace("{0}", name, StringComparison.Ordinal), out var resolved, out var error))
            {
                WriteError(error);
                return null;
            }

            disks.Add(resolved);
        }

        return new CheckpointRestoreOptions
        {
            Name = name,
            DiskPaths = disks,
            TapNames = [.. (TapName ?? []).Select(tap => tap.Replace("{0}", name, StringComparison.Ordinal))],
            MacAddresses = MacAddress ?? [],
            VsockCid = VsockCid,
        };
    }

    private void RestoreInProcess(Checkpoint checkpoint, CheckpointRestoreOptions options)
    {
        var name = options.Name!;
        var log = new VmLogQueue(name);
        VirtualMachine vm;
        try
        {
            vm = VirtualMachine.Restore(checkpoint, options, log);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // The state or an image did not fit (a writable disk without an image, an image of another size): no VM.
            WriteError(EngineErrors.Record(e, checkpoint.Path));
            WriteLog(log.Drain());
            return;
        }

        var entry = new InProcessVm(vm, log);
        TagVm(entry);
        if (!VmRegistry.TryAdd(entry))
        {
            vm.Dispose();
            WriteError(VmErrors.NameTaken(name));
            return;
        }

        try
        {
            entry.Start();
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // The VM stays registered, Failed, as a VM whose boot failed does: Get-PvhVm shows why.
            WriteError(EngineErrors.Record(e, entry));
            return;
        }
        finally
        {
            WriteLog(log.Drain());
        }

        WriteObject(entry);
    }

    private static string FreeCloneName(string baseName, IReadOnlyCollection<string> chosen)
    {
        for (var n = 1; ; n++)
        {
            var name = $"{baseName}-{n}";
            if (!VmRegistry.Contains(name) && !chosen.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return name;
            }
        }
    }
}
