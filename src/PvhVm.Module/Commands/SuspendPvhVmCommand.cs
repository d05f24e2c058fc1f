using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>Suspend-PvhVm: pauses running VMs (every vCPU out of the guest, the guest's clock held); Resume-PvhVm goes on.</summary>
[Cmdlet(VerbsLifecycle.Suspend, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmHandle))]
public sealed class SuspendPvhVmCommand : VmTargetCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => ChangeEach(VmState.Running, "suspend", "Suspend PVH VM", vm => vm.Suspend(), PassThru);
}
