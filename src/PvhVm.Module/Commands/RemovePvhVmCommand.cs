using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Registry;

namespace PvhVm.Module.Commands;

/// <summary>Remove-PvhVm: unregisters VMs and frees their memory and threads. A running VM is stopped first only with -Force.</summary>
[Cmdlet(VerbsCommon.Remove, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByVm)]
[OutputType(typeof(void))]
public sealed class RemovePvhVmCommand : VmTargetCmdlet
{
    /// <summary>Stops a running VM before removing it, and removes without asking for confirmation (unless -Confirm is given explicitly).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            var vm = entry.Vm;
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

            if (!running)
            {
                DrainLogs([entry]);
            }
            else if (!TryStop(entry))
            {
                continue;
            }

            if (VmRegistry.Remove(entry))
            {
                vm.Dispose();
            }
        }
    }
}
