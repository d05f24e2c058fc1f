using System.Management.Automation;
using PvhVm.Core.Machine;
using PvhVm.Module.Vms;

namespace PvhVm.Module.Commands;

/// <summary>
/// Remove-PvhVmNetworkAdapter: takes network adapters from VMs that have not started, by tap name or as adapter objects
/// from Get-PvhVmNetworkAdapter. A tap that existed before is left as it is.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PvhVmNetworkAdapter", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByAdapter)]
[OutputType(typeof(void))]
public sealed class RemovePvhVmNetworkAdapterCommand : VmTargetCmdlet
{
    private const string ByAdapter = "ByAdapter";

    [Parameter(ParameterSetName = ByName, Mandatory = true, Position = 1)]
    [Parameter(ParameterSetName = ByVm, Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] TapName { get; set; } = [];

    /// <summary>Adapters from Get-PvhVmNetworkAdapter; each is found in its VM by its tap.</summary>
    [Parameter(ParameterSetName = ByAdapter, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public VmNetworkAdapter[] NetworkAdapter { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByAdapter)
        {
            foreach (var adapter in NetworkAdapter)
            {
                if (VmRegistry.Match(WildcardPattern.Escape(adapter.VmName)) is [var entry])
                {
                    Remove(entry, adapter.TapName);
                }
                else
                {
                    WriteError(VmErrors.NotFound(adapter.VmName));
                }
            }

            return;
        }

        foreach (var entry in ResolveTargets())
        {
            foreach (var tap in TapName)
            {
                Remove(entry, tap);
            }
        }
    }

    private void Remove(VmHandle entry, string tapName)
    {
        if (!ShouldProcess(entry.Name, $"Remove network adapter on tap '{tapName}'"))
        {
            return;
        }

        try
        {
            if (!entry.RemoveNetworkAdapter(tapName))
            {
                WriteError(VmErrors.NetworkAdapterNotFound(entry, tapName));
            }
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(EngineErrors.Record(e, entry));
        }
    }
}
