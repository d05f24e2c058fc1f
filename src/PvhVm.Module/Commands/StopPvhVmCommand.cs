using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>Stop-PvhVm: forces VMs to stop (the host pulls the plug; ExitReason Stopped). A VM that has already exited is left as it is.</summary>
[Cmdlet(VerbsLifecycle.Stop, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmHandle))]
public sealed class StopPvhVmCommand : VmTargetCmdlet
{
    /// <summary>Stops without asking for confirmation (unless -Confirm is given explicitly).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var vm in ResolveTargets())
        {
            var status = vm.Status;
            if (status.State == VmState.Created)
            {
                WriteError(VmErrors.InvalidState(vm, "stop"));
                continue;
            }

            if (status.State.IsActive())
            {
                if (!ShouldProcessUnlessForced(Force, vm.Name, "Stop PVH VM"))
                {
                    continue;
                }

                if (!TryStop(vm))
                {
                    continue;
                }
            }
            else
            {
                WriteVerbose($"VM '{vm.Name}' has already exited ({status.State}, {status.ExitReason}).");
            }

            if (PassThru)
            {
                WriteObject(vm);
            }
        }
    }
}
