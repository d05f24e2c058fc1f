using System.Management.Automation;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Checkpoint-PvhVm: saves a VM to a folder (guest RAM with holes for untouched pages, vCPUs, irqchip, devices, a
/// manifest). A running VM is paused for the save and runs on after it; a paused VM stays paused. Outputs the checkpoint.
/// A host-process VM is saved by its host process (PUT /vm/checkpoint), which writes with this user's rights.
/// </summary>
[Cmdlet(VerbsData.Checkpoint, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(Checkpoint))]
public sealed class CheckpointPvhVmCommand : VmTargetCmdlet
{
    /// <summary>The new (or empty) checkpoint folder; with several VMs, each gets a subfolder named after it.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    private readonly List<VmHandle> _targets = [];

    // Collected first: whether each VM gets a subfolder depends on how many the whole pipeline names.
    protected override void ProcessRecord() => _targets.AddRange(ResolveTargets().Where(entry => !_targets.Contains(entry)));

    protected override void EndProcessing()
    {
        if (!TryResolveFileSystemPath(Path, out var root, out var error))
        {
            WriteError(error);
            return;
        }

        foreach (var vm in _targets)
        {
            if (vm.State is not (VmState.Running or VmState.Paused))
            {
                WriteError(VmErrors.InvalidState(vm, "checkpoint"));
                continue;
            }

            var folder = _targets.Count > 1 ? System.IO.Path.Combine(root, vm.Name) : root;
            if (!ShouldProcess(vm.Name, $"Checkpoint PVH VM to '{folder}'"))
            {
                continue;
            }

            try
            {
                WriteObject(Save(vm, folder));
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(EngineErrors.Record(e, vm));
            }
            finally
            {
                DrainLogs([vm]);
            }
        }
    }

    private static Checkpoint Save(VmHandle vm, string folder)
    {
        if (vm.State == VmState.Paused)
        {
            return vm.CreateCheckpoint(folder);
        }

        vm.Suspend();
        try
        {
            return vm.CreateCheckpoint(folder);
        }
        finally
        {
            vm.Resume();
        }
    }
}
