using System.Management.Automation;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>
/// Checkpoint-PvhVm: saves a VM to a folder (guest RAM with holes for untouched pages, vCPUs, irqchip, devices, a
/// manifest). A running VM is paused for the save and runs on after it; a paused VM stays paused. Outputs the checkpoint.
/// </summary>
[Cmdlet(VerbsData.Checkpoint, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(Checkpoint))]
public sealed class CheckpointPvhVmCommand : VmTargetCmdlet
{
    /// <summary>The new (or empty) checkpoint folder; with several VMs, each gets a subfolder named after it.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    private readonly List<Core.Machine.VirtualMachine> _seen = [];

    protected override void ProcessRecord()
    {
        var targets = ResolveTargets();
        foreach (var entry in targets)
        {
            var vm = entry.Vm;
            _seen.Add(vm);
            if (vm.State is not (VmState.Running or VmState.Paused))
            {
                WriteError(VmErrors.InvalidState(vm, "checkpoint"));
                continue;
            }

            if (!TryResolveFileSystemPath(Path, out var folder, out var error))
            {
                WriteError(error);
                return;
            }

            if (targets.Count > 1 || _seen.Count > 1)
            {
                folder = System.IO.Path.Combine(folder, vm.Name);
            }

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
                DrainLogs([entry]);
            }
        }
    }

    private static Checkpoint Save(Core.Machine.VirtualMachine vm, string folder)
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
