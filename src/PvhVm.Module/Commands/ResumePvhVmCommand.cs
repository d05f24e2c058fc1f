using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>Resume-PvhVm: lets paused VMs run on from where Suspend-PvhVm stopped them, their clocks as they were.</summary>
[Cmdlet(VerbsLifecycle.Resume, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmHandle))]
public sealed class ResumePvhVmCommand : VmTargetCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => ChangeEach(VmState.Paused, "resume", "Resume PVH VM", vm => vm.Resume(), PassThru);
}
