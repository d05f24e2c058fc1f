using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Start-PvhVm: boots VMs. Every VM of one pipeline is collected first and then started concurrently,
/// with progress; -Wait then waits for them all to exit.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "PvhVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmHandle))]
public sealed class StartPvhVmCommand : VmTargetCmdlet
{
    private readonly List<VmHandle> _targets = [];

    /// <summary>Waits until every started VM has exited.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to wait before a WaitTimeout error; by default, forever.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public double? Timeout { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            if (!_targets.Contains(entry) && ShouldProcess(entry.Name, "Start PVH VM"))
            {
                _targets.Add(entry);
            }
        }
    }

    protected override void EndProcessing()
    {
        var tasks = RunForEach(_targets, (entry, _) =>
        {
            entry.Start();
            return true;
        }, "Starting PvhVm VMs");
        var started = new List<VmHandle>();
        for (var i = 0; i < _targets.Count; i++)
        {
            if (tasks[i].IsFaulted)
            {
                WriteError(EngineErrors.Record(tasks[i].Exception!.GetBaseException(), _targets[i]));
            }
            else
            {
                started.Add(_targets[i]);
            }
        }

        var result = Wait ? WaitForAll(started, pattern: null, ToTimeout(Timeout)) : started;
        if (PassThru)
        {
            foreach (var entry in result)
            {
                WriteObject(entry);
            }
        }
    }
}
