using System.Management.Automation;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Commands;

/// <summary>Add-PvhVmNetworkAdapter: gives VMs that have not started a network adapter on a host tap, after their others.</summary>
[Cmdlet(VerbsCommon.Add, "PvhVmNetworkAdapter", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ByVm)]
[OutputType(typeof(VmNetworkAdapter))]
public sealed class AddPvhVmNetworkAdapterCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] TapName { get; set; } = [];

    /// <summary>The guest's Ethernet address; derived from the VM and the tap name when not given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MacAddress { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in ResolveTargets())
        {
            foreach (var tap in TapName)
            {
                if (!ShouldProcess(entry.Name, $"Add network adapter on tap '{tap}'"))
                {
                    continue;
                }

                try
                {
                    var adapter = entry.AddNetworkAdapter(new NetworkAdapterConfig(tap, MacAddress));
                    if (PassThru)
                    {
                        WriteObject(Tagged(adapter, GetPvhVmNetworkAdapterCommand.AdapterTypeName));
                    }
                }
                catch (Exception e) when (e is not PipelineStoppedException)
                {
                    WriteError(EngineErrors.Record(e, entry));
                }
            }
        }
    }
}
