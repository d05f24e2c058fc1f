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

    protected override void ProcessRecord()
    {
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

        var count = Clone ? Count : 1;
        for (var i = 0; i < count; i++)
        {
            var name = Name ?? (Clone ? FreeCloneName(checkpoint.VmName) : checkpoint.VmName);
            if (VmRegistry.Contains(name))
            {
                WriteError(VmErrors.NameTaken(name));
                return;
            }

            if (!ShouldProcess(name, $"Restore PVH VM from checkpoint '{checkpoint.Path}'"))
            {
                continue;
            }

            if (InProcess)
            {
                RestoreInProcess(checkpoint, name);
            }
            else
            {
                RestoreInHostProcess(checkpoint, name);
            }
        }
    }

    /// <summary>A host process restores the VM (the checkpoint is read again there: it is that process's input) and starts it.</summary>
    private void RestoreInHostProcess(Checkpoint checkpoint, string name)
    {
        if (NewPvhVmCommand.SocketPathTooLong(name) is { } tooLong)
        {
            WriteError(tooLong);
            return;
        }

        HostProcessVm entry;
        try
        {
            var (folder, description) = HostLauncher.Launch(VmRegistry.Directory, new RestoreRequest(checkpoint.Path, name), NewPvhVmCommand.HostProgramPath);
            entry = VmRegistry.AddHostProcess(folder, description);
        }
        catch (VmFolderExistsException)
        {
            WriteError(VmErrors.NameTaken(name));
            return;
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(EngineErrors.Record(e, name));
            return;
        }

        Start(entry, null);
    }

    private void RestoreInProcess(Checkpoint checkpoint, string name)
    {
        var log = new VmLogQueue(name);
        var vm = VirtualMachine.Restore(checkpoint.Path, name, log);
        var entry = new InProcessVm(vm, log);
        TagVm(entry);
        if (!VmRegistry.TryAdd(entry))
        {
            vm.Dispose();
            WriteError(VmErrors.NameTaken(name));
            return;
        }

        Start(entry, log);
    }

    private void Start(VmHandle entry, VmLogQueue? log)
    {
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
            if (log is not null)
            {
                DrainLog(log);
            }
        }

        WriteObject(entry);
    }

    private static string FreeCloneName(string baseName)
    {
        for (var n = 1; ; n++)
        {
            var name = $"{baseName}-{n}";
            if (!VmRegistry.Contains(name))
            {
                return name;
            }
        }
    }
}
