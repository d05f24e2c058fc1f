using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Remove-PvhVm: unregisters VMs and frees their memory and threads; a host-process VM's host exits and its folder goes
/// (a dead host's folder too). A running VM is stopped first only with -Force.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByVm)]
[OutputType(typeof(void))]
public sealed class RemovePvhVmCommand : VmTargetCmdlet
{
    /// <summary>Stops a running VM before removing it, and removes without asking for confirmation (unless -Confirm is given explicitly).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var vm in ResolveTargets())
        {
            var running = vm.State.IsActive();
            if (running && !Force)
            {
                WriteError(VmErrors.Running(vm));
                continue;
            }

            if (!ShouldProcessUnlessForced(Force, vm.Name, running ? "Stop and remove PVH VM" : "Remove PVH VM"))
            {
                continue;
            }

            try
            {
                // Removing a running VM stops it first (the engine's Dispose, a host's DELETE /vm) and waits for its vCPUs.
                if (!vm.Remove())
                {
                    WriteError(VmErrors.NotRegistered(vm));
                }
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
}
